"""Fault tests (issue #10): the platform's processes and database interrupted the hard way — the task worker killed
with SIGKILL in the middle of a large import, PostgreSQL restarted under a load of API writes, two people saving the
same submission at the same moment — and what must hold afterwards. Run with ``make faults`` (see README.md here);
they are not part of the normal suite."""
