"""Citizen document vault: papers kept once, envelope-encrypted, shared only by the citizen."""
