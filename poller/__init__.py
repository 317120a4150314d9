"""Feed pollers: fetch RSS/Atom feeds, turn new items into articles, produce them to the ``articles`` topic."""
