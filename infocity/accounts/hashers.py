"""How passwords are stored: Argon2id with OWASP's minimum parameters.

The OWASP Password Storage Cheat Sheet recommends Argon2id first, "with a minimum configuration of 19 MiB of memory,
an iteration count of 2, and 1 degree of parallelism", and counts it equivalent in defence to PBKDF2-HMAC-SHA256 at
600,000 iterations. Being memory-hard it resists GPU and ASIC guessing better than PBKDF2, and it costs the server
about 19 ms of processor time per login instead of PBKDF2's 225 ms (Django's 1,000,000 iterations), which matters on
deadline day when hundreds of city users sign in at once. Django's own Argon2 hasher defaults to 100 MiB and
parallelism 8 (180 ms of processor time here); the parameters are part of each stored hash, so changing them later
re-hashes every password at its owner's next login, as does the move from PBKDF2.
"""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idPasswordHasher(Argon2PasswordHasher):
    """Argon2id (RFC 9106) at OWASP's minimum: m = 19 MiB, t = 2, p = 1."""

    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
