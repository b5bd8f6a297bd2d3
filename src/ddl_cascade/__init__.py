"""ddl-cascade: shared Flyway DDL in one parent repository, cascaded, verified, to many children."""

__version__ = "0.1.0"
