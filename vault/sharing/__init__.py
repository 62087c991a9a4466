"""Share grants: a citizen's chosen papers for one agency, a purpose and a time; what the
agency can reach through them; the QR code and the stamped copy."""
