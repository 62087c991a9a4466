"""People who sign in: citizens (registration, profile, sessions, erasure), login throttles,
national ID numbers and counter officers.

Owns the `citizen`, `access_token`, `login_throttle` and `officer` tables. May import
`agencies`, `audit`, `documents` and the layers below (`db`, `blobs`, `keys`, `crypto`, `kit`)."""
