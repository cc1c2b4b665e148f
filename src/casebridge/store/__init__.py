"""Metadata storage: SQLAlchemy tables, repositories, the unit of work and migrations."""
