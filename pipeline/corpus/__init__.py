"""The labelled corpus: the gold labels file, getting paragraphs labelled, agreement between annotators
and the data card's counts."""
