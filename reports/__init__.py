"""Reports, disputes and account actions."""
