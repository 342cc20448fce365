"""From scores to insight: metadata and entities on scored paragraphs, the signal index, the HTML report."""
