// Intl (placeholder)
