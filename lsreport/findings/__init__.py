"""Each chapter's derived numbers and verdicts, tested against known truth."""
