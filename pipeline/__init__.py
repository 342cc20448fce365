"""policy-signals: flag policy signals in paragraphs about China's rare-earth and steel SOEs."""
