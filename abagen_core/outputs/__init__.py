"""What users read: result writers, the methods report, QC figures, robustness summaries."""
