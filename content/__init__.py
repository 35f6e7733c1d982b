"""Domain content: the knowledge base, the Vietnamese question matcher and campaign definitions."""
