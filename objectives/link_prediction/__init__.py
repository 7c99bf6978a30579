"""Link prediction objective (placeholder until the objective lands)."""
