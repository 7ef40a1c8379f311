// The rich-text editor of progress reports: a contenteditable area with a few formatting buttons. Text pasted
// from Word or WPS keeps its headings, lists and tables; pasted or chosen images are embedded and become
// attachments when saved. The server sanitises everything it receives: nothing here is trusted.
(function () {
  "use strict";

  function editorOf(element) {
    var box = element.closest(".rte") || element.closest("form");
    return box ? box.querySelector(".rte-body") : null;
  }

  function markDirty(editor) {
    editor.dataset.dirty = "1";
  }

  function insertImage(editor, file) {
    if (!file || !/^image\/(png|jpeg|gif|webp)$/.test(file.type)) {
      window.alert("只能插入 PNG、JPEG、GIF 或 WebP 图片。");
      return;
    }
    var reader = new FileReader();
    reader.onload = function () {
      editor.focus();
      document.execCommand("insertHTML", false, '<img src="' + reader.result + '" alt="">');
      markDirty(editor);
    };
    reader.readAsDataURL(file);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-cmd]");
    if (!button) return;
    var editor = editorOf(button);
    if (!editor) return;
    event.preventDefault();
    editor.focus();
    var command = button.dataset.cmd;
    if (command === "insertTable") {
      var cells = "<td><br></td><td><br></td><td><br></td>";
      document.execCommand("insertHTML", false,
        "<table><tbody><tr>" + cells + "</tr><tr>" + cells + "</tr><tr>" + cells + "</tr></tbody></table><p><br></p>");
    } else {
      document.execCommand(command, false, button.dataset.arg || null);
    }
    markDirty(editor);
  });

  document.addEventListener("input", function (event) {
    if (event.target.classList && event.target.classList.contains("rte-body")) markDirty(event.target);
  });

  document.addEventListener("paste", function (event) {
    var editor = event.target.closest && event.target.closest(".rte-body");
    if (!editor || !event.clipboardData) return;
    var files = Array.prototype.filter.call(event.clipboardData.files || [], function (f) {
      return f.type.indexOf("image/") === 0;
    });
    var html = event.clipboardData.getData("text/html");
    if (files.length && !html) {  // a screenshot: embed it; Word's HTML carries its own images
      event.preventDefault();
      files.forEach(function (f) { insertImage(editor, f); });
    }
    markDirty(editor);
  });

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.dataset || !input.dataset.imageFor) return;
    var editor = document.querySelector('.rte-body[data-field="' + input.dataset.imageFor + '"]');
    if (editor && input.files.length) insertImage(editor, input.files[0]);
    input.value = "";
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-rte-form")) return;
    form.querySelectorAll(".rte-body").forEach(function (editor) {
      var field = form.querySelector('textarea[name="' + editor.dataset.field + '"]');
      if (!field) return;
      if (editor.dataset.dirty || editor.hasAttribute("data-always")) {
        field.value = editor.innerHTML;
      } else {
        field.removeAttribute("name");  // unchanged: not sent, so it cannot overwrite anyone's edit
      }
    });
  });
})();
