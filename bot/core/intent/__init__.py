"""Reading a goal's intent without a model: the parts of ``bot.core.classify``.

``normal`` turns what Slack sends into plain folded text (markup, entities, emoji codes, accents, typos of the
words that carry intent, quantities written in words); ``cues`` reads the goal's frame — the request, question
or noun phrase it is built on and the verb at its head — and scores the shipped workflows from it; ``ngrams`` is
the character n-gram similarity to each workflow's examples; ``bank`` holds the phrasings the shipped workflows
are compared with; ``embed`` is the optional second opinion of an embedding model for uncertain goals.
"""
