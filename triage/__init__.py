"""spl-pes triage: sorts the DDFIP spl-pes support mail about -xt portal passwords."""

__version__ = "0.1.0"
