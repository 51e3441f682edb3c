"""Understanding a message: cleaning, the spaCy pipeline, the classifier, clause references."""
