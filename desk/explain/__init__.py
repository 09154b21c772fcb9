"""Comprendre mes données: plain-language pages on personal data, rights and the desk's words."""
