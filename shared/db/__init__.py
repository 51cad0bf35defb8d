"""Database: declarative base, engine and the transaction helper."""
