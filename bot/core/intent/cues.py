"""The frame of a goal, and what it says about the shipped workflows.

A goal is read clause by clause. Each clause loses its greeting and its request form ("hey", "can you",
"could u pls", "I need you to", "peux-tu", "help me"…); what remains starts with a **head**:

- a verb of writing (``draft``, ``write``, ``reply``, ``rédiger``…, or ``tell the team`` / ``let X know``) → draft;
- a verb of condensing (``summarize``, ``boil down``, ``condense``, ``skim``, ``brief me``, ``résumer``…) → summarize;
- a verb of computing with numbers (``calculate``, ``split``, ``convert``, ``add up``…) → calc;
- a verb of asking (``tell me``, ``explain``, ``remind me``, ``I'd like to know``…) or a question → ask, unless the
  question is about what was said in a conversation (``what did people decide in #x?``) → summarize;
- a general verb (``give me``, ``put together``, ``send``, ``fais-moi``…) or no verb at all: the noun decides —
  a message, note, reply, blurb… → draft; a summary, recap, gist, highlights… → summarize; a total, average… → calc.

Arithmetic, percentages of amounts and date math are read over the whole goal; a recurring time ("every Monday",
"hebdomadaire") with a summary of a channel is a digest. Words met elsewhere in the goal count a little.
A goal with no content words (greetings, "help", "thoughts?", "do the thing") is vague: Maple asks back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.core.intent.normal import prepare
from bot.core.tools import dates

SHIPPED = ("draft", "ask", "summarize", "calc", "digest")
HEAD, NOUN, QUESTION, STRONG = 4.5, 3.5, 2.6, 3.8  # a verb at the head, a noun phrase, a question, a strong sign
LATER = 0.7  # what a clause after the one that said what the goal is counts
ARITHMETIC = HEAD + 0.3  # explicit arithmetic outweighs the frame around it ("tell me what 35 times 12 is")

_GREETING = re.compile(
    r"^(?:hey|hi|hello|dear|yo|ok|okay|so|um+|hm+|bonjour|salut|allo|maple|someone|please|pls|plz|kindly|svp|stp|"
    r"s'il (?:te|vous) plait|quick one|team|all|folks|guys|urgent|asap|also|and|then|just|quickly|oh)\b[\s,:!.]*")
_REQUEST = re.compile(
    r"^(?:(?:can|could|would|will|cant|can't|won't|wont)\s+(?:you|u|ya|maple)|"
    r"(?:i|we)\s*(?:'d|would)?\s*(?:need|want|like|love)\s+(?:you|u)\s+to|(?:i|we)\s+(?:have|need|want)\s+to|"
    r"i\s*'ve\s+got\s+to|i\s+gotta|i\s+must|help(?:\s+me)?(?:\s+to)?(?=\s+\w)|(?:peux|pourrais|pourras)[\s-]tu|"
    r"(?:pouvez|pourriez)[\s-]vous|tu\s+peux|est-ce\s+que\s+tu\s+peux|j'aimerais\s+que\s+tu|"
    r"j'ai\s+besoin\s+que\s+tu|aide[sz]?[\s-]moi\s+a|merci\s+de|let's|lets|go\s+ahead\s+and|"
    r"(?:i|we)\s+(?:need|want)\s+(?:some\s+)?help\s+(?:with\s+)?|(?:is|would)\s+it\s+(?:be\s+)?possible\s+to|"
    r"any\s+chance\s+(?:you\s+(?:could|can)\s+)?|(?:do|would)\s+you\s+mind|"
    r"(?:can|could|may)\s+(?:i|we)\s+(?=(?:get|have|see)\s+(?:a|an|the|some|my)\b))\b[\s,]*")
_WANT = re.compile(
    r"^(?:(?:i|we)\s*(?:'d|would)?\s*(?:need|want|like|love)|need|want|looking\s+for|i'm\s+after|"
    r"j'ai\s+besoin\s+d'?|je\s+voudrais|j'aimerais|il\s+me\s+faut|je\s+veux)\b\s*")

_COMPOSE = re.compile(
    r"^(?:draft\w*|draught|drfat|write|writing|wite|compose|pen|craft|reply|respond|announce|word|phrase|"
    r"rephrase|reword|rewrite|invite|thank|congratulate|welcome|apologi[sz]e|wish|greet|email|e-mail|"
    r"message|dm|souhaite[rz]?|jot|reach\s+out|follow\s+up\s+(?:with|on)|nudge|shoot|drop\s+(?:a|an|them|him|her)|"
    r"get\s+back\s+to|circle\s+back|relance\w*|contacte[rz]?|redige\w*|ecri[rstv]\w*|"
    r"repon[ds]\w*|annonce[rz]?|formule[rz]?|remercie[rz]?|invite[rz]?)\b|"
    r"^(?:tell|remind|inform|notify|warn|ask|ping|update|dis|rappelle)\s+(?!me\b|moi\b|us\b|nous\b|if\b|whether\b)|"
    r"^let\s+(?!me\b|us\b)(?:\S+\s+){1,5}?know\b|^informe[rz]?\b|^previens\b|"
    r"^say\s+(?:thanks|thank\s+you|sorry|congrat\w*|hello|hi|goodbye|bye|welcome|no|yes|something|a\s+few\s+words)\b|"
    r"^(?:post|share|announce)\s+(?:(?:in|to|on|with)\s+\S+(?:\s+\S+)?\s+)?(?:that|about)\b|"
    r"^something\s+(?:for|to\s+(?:send|post|say|tell|share)|i\s+can\s+(?:send|post|share))\b")
_RECAP = re.compile(
    r"^(?:summari[sz]\w*|summary|recap\w*|tl;?dr|boil|condense|sum\s+(?:it\s+)?up|digest\s+(?:this|the|that|it)|"
    r"distill?|wrap\s+up|brief\s+me|catch\s+(?:me\s+)?up|fill\s+me\s+in|skim|go\s+(?:over|through)|"
    r"resum\w*|synthetise\w*|fais\s+le\s+point|in\s+a\s+nutshell)\b")
_READ = re.compile(r"^(?:read|scan|review|look\s+(?:through|over|at|into)|check|go\s+(?:over|through)|parcour\w*|lis|"
                   r"lire|shorten|trim|compress|abridge|raccourci\w*|compile|highlight)\b")
_CALC = re.compile(
    r"^(?:calculate|calc|calcule\w*|compute|add|sum|total|multiply|divide|split|convert|average|figure\s+out|"
    r"work\s+out|combien\s+(?:font|fait)|additionne\w*|multiplie\w*|divise\w*|converti\w*|round)\b")
_ASK = re.compile(
    r"^(?:tell\s+(?:me|us)|explain|describe|define|clarify|remind\s+me|find\s+out|look\s+up|know|show\s+me|"
    r"point\s+me|(?:i\s*'d|i\s+would)\s+like\s+to\s+know|i\s+(?:want|need)\s+to\s+know|i\s+wonder|"
    r"(?:i\s*'m|im|i\s+am)?\s*wondering|(?:i\s*'m|im)\s+curious|curious|explique\w*|dis[\s-]moi|dites[\s-]moi|"
    r"je\s+me\s+demande|(?:je\s+voudrais|j'aimerais|je\s+veux)\s+savoir|(?:i\s+)?(?:need|want)\s+to\s+"
    r"(?:know|understand|find\s+out)|understand|learn\s+about|(?:i\s*'m|im|i\s+am)?\s*(?:looking|searching)\s+for|"
    r"trying\s+to\s+find|je\s+cherche|on\s+cherche|(?:i\s+)?forgot|(?:me|nous)\s+dire|j'ai\s+oublie)\b")
_GENERIC = re.compile(
    r"^(?:give|get|create|make|send|prepare|prep|put\s+together|come\s+up\s+with|whip\s+up|throw\s+together|"
    r"produce|do|fais|faire|donne|envoie|prepare[rz]?|post|share|drop|need|want|have|i\s+need|i\s+want|"
    r"pull(?:\s+out)?|extract|list)\b")
_WH = re.compile(
    r"^(?:what|whats|wat|wht|how|hw|who|whos|whom|whose|when|where|wheres|which|why|quel\w*|combien|comment|"
    r"pourquoi|qui|quand|ou|quoi|c'est\s+(?:quoi|quand|qui|ou|combien|comment)|qu'est|est-ce|any|anything|anyone|anybody|does\s+anyone)\b")
_TO_MAPLE = re.compile(r"^(?:are|is|do|did|can|could|will|would|have)\s+(?:you|u|maple)\b")
_AUX = re.compile(
    r"^(?:is|are|am|was|were|do|does|did|dont|doesn't|can|could|should|shall|may|might|will|would|have|has|had|"
    r"must|est|sont|y\s+a|a-t-on|peut-on|puis-je|dois-je|doit-on|ai-je|avons-nous|faut-il)\b")

_DELIVERABLE = (r"(?:message|msg|email|e-mail|mail|note|letter|memo|announcement|post|reply|response|answer|"
                r"blurb|statement|invitation|invite|reminder|bio|ad|posting|talking\s+points|agenda|apology|"
                r"thank[\s-]you|congrats|congratulations|farewell|toast|speech|text|copy|newsletter|press\s+release|"
                r"update|heads[\s-]up|shout[\s-]?out|welcome|intro|introduction|dm|tweet|caption|script|pitch|"
                r"paragraph|description|write-?up|wording|draft|"
                r"courriel|lettre|annonce|reponse|mot|brouillon|invitation|rappel|communique|texte)")
_RECAP_NOUN = (r"(?:summary|summaries|recap|tl;?dr|gist|highlights|rundown|run-down|short\s+version|cliff\s*notes|"
               r"key\s+points|takeaways|overview|main\s+points|action\s+items|digest|round-?up|executive\s+summary|"
               r"synopsis|resume|synthese|grandes\s+lignes|points\s+saillants|faits\s+saillants|decisions|"
               r"open\s+questions|main\s+arguments|bullet\s+points|bullets|themes|main\s+themes|outcomes?|conclusions?|"
               r"minutes|key\s+decisions|short\s+list|brief|briefing|topo|compte[\s-]rendu|sommaire|apercu)")
_CALC_NOUN = r"(?:average|total|sum|product|difference|tip|tax|discount|markup|interest|montant|moyenne|somme)"
_OBJECT = r"^(?:(?:me|us|moi|nous|-moi)\s+)?(?:(?:a|an|the|some|one|my|our|un|une|le|la|les|mon|ma|du|de)\s+)?" \
          r"(?:[\w'-]+\s+){0,3}?"
_OBJ_DELIVERABLE = re.compile(_OBJECT + _DELIVERABLE + r"s?\b")
_OBJ_RECAP = re.compile(_OBJECT + _RECAP_NOUN + r"\b")
_OBJ_CALC = re.compile(_OBJECT + _CALC_NOUN + r"\b")
_ASK_NOUN = (r"(?:info|information|details|polic(?:y|ies)|rules?|procedures?|process|steps|instructions|guide|"
             r"guidelines|link|url|address|contact|phone\s+number|hours|deadline|documentation|docs|faq|politique|"
             r"regles?|adresse|lien|coordonnees|renseignements|informations|marche\s+a\s+suivre)")
_OBJ_ASK = re.compile(_OBJECT + _ASK_NOUN + r"\s+(?:to|for|on|about|of|regarding|around|pour|sur|de|du|des)\s+\w")
_NOUNS = ((_OBJ_RECAP, "summarize", "asks for a summary"), (_OBJ_DELIVERABLE, "draft", "asks for a message"),
          (_OBJ_CALC, "calc", "asks for a total"), (_OBJ_ASK, "ask", "asks for information"))

_CONVERSATION = re.compile(r"(?:^|\s)#[a-z0-9][\w.-]*|\b(?:channel|thread|discussion|conversation|convo|chat|dms?|"
                           r"back[\s-]and[\s-]forth|debate|messages|posts|canal|fil|echanges?|discussions?)\b")
_CONTENT = re.compile(r"\b(?:happen\w*|going\s+on|goes\s+on|discuss\w*|said|say\w*|talk\w*|decid\w*|decision\w*|"
                      r"conclu\w*|agree\w*|miss\w*|new|consensus|status|open\s+questions?|complain\w*|outcome|"
                      r"main\s+points?|takeaways?|gist|posted|mention\w*|activity|s'est\s+dit|s'est\s+passe|"
                      r"passe|dit|quoi\s+de\s+neuf|nouveau|next\s+steps|decisions|latest|went\s+on|vibe|mood|sentiment|"
                      r"important|in\s+there|unhappy|happy|upset|themes?|conclusions?|land(?:ed)?\s+on|settle[ds]?\s+on|" + _RECAP_NOUN[3:-1] + r")\b|"
                      r"\babout\s*\??$")
_IN_CONVERSATION = re.compile(
    r"\b(?:in|from|of|on|within|across|with|about|regarding|re|according\s+to|dans|du|de|sur|selon)\s+(?:the\s+|this\s+|that\s+|le\s+|la\s+|ce\s+|cette\s+)?"
    r"(?:#[\w.-]+|(?:[\w-]+\s+)?(?:channel|thread|discussion|conversation|chat|dm|canal|fil)\b)")
_PERMISSION = re.compile(r"\b(?:can|may|could|should)\s+(?:i|we)\b|\bam\s+i\b|\bare\s+we\b|\bpuis-je\b|\bpeut-on\b|"
                         r"\bdois-je\b|\bhow\s+(?:do|can)\s+(?:i|we)\b")
_POLICY = re.compile(r"\b(?:rules?|polic\w*|allowed|allow|permitted|ok\s+to|okay\s+to|guidelines?|procedure|"
                     r"process|etiquette|regle\w*|politique|permis|supposed\s+to)\b")
_RECAP_ANY = re.compile(rf"\b(?:summari[sz]\w*|{_RECAP_NOUN}|boil\w*\s+down|condense|sum\s+up|catch\s+me\s+up|"
                        r"fill\s+me\s+in|in\s+a\s+nutshell|resum\w*)\b")
_MISSED = re.compile(r"\bwhat\s+(?:did|have)\s+i\s+miss\w*|\bqu'est-ce\s+que\s+j'ai\s+manque|\bcatch\s+me\s+up\b")
_COMPOSE_ANY = re.compile(rf"\b(?:draft\w*|write|compose|reply|respond|{_DELIVERABLE}s?)\b")
_RECURRING = re.compile(
    r"\b(?:daily|weekly|monthly|nightly|biweekly|quotidien\w*|hebdomadaire\w*|mensuel\w*|"
    r"(?:every|each|chaque)\s+(?:other\s+)?(?:day|week|month|morning|evening|night|afternoon|weekday|monday|"
    r"tuesday|wednesday|thursday|friday|saturday|sunday|jour|matin|soir|semaine|mois|lundi|mardi|mercredi|"
    r"jeudi|vendredi)|tous\s+les\s+(?:jours|matins|soirs|lundis|mardis|mercredis|jeudis|vendredis)|"
    r"on\s+a\s+schedule|(?:every|each)\s+\d+\s+(?:days|weeks)|"
    r"(?:on\s+)?(?:mondays|tuesdays|wednesdays|thursdays|fridays|weekdays|weekends|mornings|evenings)|"
    r"(?:monday|tuesday|wednesday|thursday|friday|morning|evening|end[\s-]of[\s-](?:day|week)|eod|weekend)\s+"
    r"(?:digest|round-?up|recap|summary))\b")
_DIGEST_NOUN = re.compile(r"\b(?:digest|round-?up)\b")
_SEND = re.compile(r"\b(?:send|post|share|envoie|publie)\b")

_ISO = re.compile(r"\b\d{4}-\d{1,2}-\d{1,2}\b")
_NUMBER = re.compile(r"(?<![\w.])\$?\d[\d,.]*(?:\s?\d{3})*(?:[km]\b|\b)")
_OP = r"(?:[+*/x×^÷]|\s-\s|\*\*)"
_EXPRESSION = re.compile(rf"\d\)?\s*[$%€]?\s*{_OP}\s*\(?\s*\$?\d|^\s*\(?\s*\$?\d[\d,.]*\s*\)?\s*{_OP}")
_ONLY_MATH = re.compile(r"^[\d\s$%.,+\-*/x×^÷()=?]+$|^(?:sqrt|round|abs|min|max)\s*\(")
_WORD_OP = re.compile(r"\d(?:\s*[$%])?\s+(?:[a-z]+\s+){0,3}?(?:times|multiplied\s+by|divi\w*\s+(?:by|par|among|between|"
                      r"into)|plus|minus|fois|moins|over)\s+\$?\s*\d|\bmultiply\s+\$?\d[\d.,]*\s+(?:by|and)\s+\d|"
                      r"\b(?:\d+\s+)?(?:half|halves|thirds?|quarters?|fifths?|tenths?|moitie|tiers|quart)\s+(?:of|de)\s+\$?\d|"
                      r"\b(?:difference|sum|product|total|average|mean|moyenne|somme|ratio)\s+(?:between|of|de|entre)\s+\$?\d")
_POWER = re.compile(r"\b(?:squared|cubed|square\s+root|sqrt|power|puissance|au\s+carre)\b")
_PERCENT = re.compile(r"\d\s*(?:%|percent)")
_PERCENT_OF = re.compile(r"\d\s*(?:%|percent)\s+(?:of|on|off|de|sur)\s+\$?\s*\d|"
                         r"\d\s*(?:%|percent)\s+(?:tip|tax|discount|markup|interest|de\s+rabais)\s+(?:on|of|off|sur)")
_HOW_MUCH = re.compile(r"\bhow\s+(?:many|much)\b|\bcombien\b|\bwhat(?:'s|\s+is)\s+the\s+total\b")
_SPLIT = re.compile(r"\b(?:split|divide|share|average|partage\w*|multiply|subtract|add|sum|total|convert|payment|"
                    r"per\s+(?:month|day|person|head|hour|week|year)|each|apiece|a\s+piece)\b")
_UNIT_PRICE = re.compile(r"\d[\d.,]*\s+(?:[a-z]+\s+){1,3}?(?:at|@)\s+\$?\d|"
                         r"\bpercent(?:age)?\s+(?:change|increase|decrease|difference|growth)\s+(?:from|between|of)\s+\$?\d")
_ALTERNATIVES = re.compile(r"\d[\d.,]*\s*(?:%|percent|\$|k)?\s+(?:or|ou)\s+\$?\d")
_DATE_Q = re.compile(r"\b(?:combien|how\s+(?:many|long)|until|till|jusqu\w*|depuis|since|avant|before|after|apres|from)\b")
_MONEY_TERMS = re.compile(r"\b(?:tip|tax|taxes|discount|markup|interest|hst|gst|tps|tvq|pst|vat|increase|decrease|"
                          r"growth|grow|raise|rabais|pourboire|taxe|hausse)\b")


@dataclass
class Reading:
    """What the cues found: a score per shipped workflow with its reason, and how much the goal says."""

    scores: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SHIPPED, 0.0))
    reasons: dict[str, str] = field(default_factory=dict)
    content: int = 0
    text: str = ""

    def offer(self, workflow: str, score: float, reason: str) -> None:
        if score > self.scores[workflow]:
            self.scores[workflow], self.reasons[workflow] = score, reason

    @property
    def best(self) -> float:
        return max(self.scores.values())


def read(goal: str) -> Reading:
    text = prepare(goal)
    reading = Reading(content=content_words(text), text=text)
    weight = 1.0
    for clause in clauses(text):  # once a clause has said what the goal is, later ones count less
        _clause(reading, clause, weight=weight)
        weight = LATER if reading.best >= HEAD * weight else weight
    _calc(reading, text)
    _digest(reading, text)
    _anywhere(reading, text)
    return reading


def clauses(text: str) -> list[str]:
    parts = re.split(r"[,;:?!]+\s+|[.?!]+$|\.\s+|\s+-\s+|\s+(?:and|but|et|mais)\s+(?=(?:can|could|tell|what|how|"
                     r"please|pls)\b)", text)
    return [p.strip(" ,.;:!?\"'") for p in parts if p and p.strip(" ,.;:!?\"'")][:8]


def strip_lead(clause: str) -> tuple[str, bool]:
    """The clause without greetings and request forms; whether it was a request."""
    request, rest = False, clause
    for _ in range(6):
        before = rest
        rest = _GREETING.sub("", rest, count=1)
        cut = _REQUEST.sub("", rest, count=1)
        request, rest = request or cut != rest, cut
        rest = re.sub(r"^(?:please|pls|plz|kindly|quickly|just|maybe)\b\s*", "", rest)
        if rest == before:
            break
    return rest, request


def _clause(reading: Reading, clause: str, *, weight: float) -> None:
    rest, request = strip_lead(clause)
    if _MISSED.search(rest):
        reading.offer("summarize", HEAD * weight, "asks what was missed")
    if (asked := _ASK.match(rest)) is not None:
        if content_words(rest[asked.end():]):
            _question(reading, rest, strength=HEAD * weight, why="a request to explain")
    elif _RECAP.match(rest) or (_READ.match(rest) and _CONVERSATION.search(rest)):
        reading.offer("summarize", HEAD * weight, "a verb of summarizing")
    elif _COMPOSE.match(rest):
        reading.offer("draft", HEAD * weight, "a verb of writing")
    elif _CALC.match(rest) and re.search(r"\d", reading.text):
        reading.offer("calc", HEAD * weight, "a verb of computing with numbers")
    elif not request and not _TO_MAPLE.match(rest) and (_WH.match(rest) or _AUX.match(rest)):
        _question(reading, rest, strength=QUESTION * weight, why="a question")
    else:
        _nominal(reading, _WANT.sub("", _GENERIC.sub("", rest, count=1), count=1), weight=weight)


def _question(reading: Reading, rest: str, *, strength: float, why: str) -> None:
    about = _IN_CONVERSATION.search(rest) or (_CONVERSATION.search(reading.text) and _CONTENT.search(rest))
    if about and reading.content and not _POLICY.search(rest) and not _PERMISSION.search(rest):
        reading.offer("summarize", max(strength, QUESTION) + 0.9, "a question about a conversation")
    elif content_words(rest):
        reading.offer("ask", strength, why)


def _nominal(reading: Reading, rest: str, *, weight: float) -> None:
    """The first noun of a clause with no verb at its head says what is asked for."""
    rest = re.sub(r"^(?:me|us|moi|-moi|nous|with|for|on|about)\s+", "", rest.lstrip("- "))
    found = [(m.end(), workflow, why) for pattern, workflow, why in _NOUNS if (m := pattern.match(rest))]
    if found:
        _end, workflow, why = min(found)
        if workflow != "calc" or re.search(r"\d", reading.text):
            reading.offer(workflow, NOUN * weight, why)


def _calc(reading: Reading, text: str) -> None:
    bare = _ISO.sub(" ", text)
    numbers = len(_NUMBER.findall(bare))
    if dates.parse(text) is not None:  # "in 2 days" inside a message is not a date question: a date or a question is
        asked = bool(_ISO.search(text) or _WH.match(text) or text.rstrip().endswith("?"))
        reading.offer("calc", STRONG if asked else 2.0, "date math")
    if _ONLY_MATH.search(bare) and numbers >= 2:
        reading.offer("calc", HEAD + 0.5, "arithmetic")
    elif _EXPRESSION.search(bare) or _WORD_OP.search(bare) or _PERCENT_OF.search(bare) or (
            numbers and _POWER.search(bare)):
        reading.offer("calc", ARITHMETIC, "arithmetic")
        reading.scores["ask"] /= 2  # a question around explicit arithmetic asks for its result
    elif _UNIT_PRICE.search(bare) or len(_ISO.findall(text)) >= 2 or (_ISO.search(text) and _DATE_Q.search(text)):
        reading.offer("calc", STRONG, "arithmetic")
    elif _ALTERNATIVES.search(bare):
        return  # "is it 10% or 15%?" asks which, it computes nothing
    elif (_HOW_MUCH.search(bare) or _SPLIT.search(bare)) and numbers >= 2:
        reading.offer("calc", 3.6, "a quantity from numbers")
    elif _PERCENT.search(bare) and numbers >= 2:
        money = bool(_MONEY_TERMS.search(bare))
        reading.offer("calc", 3.6 if money else 2.3, "a percentage of an amount")


def _digest(reading: Reading, text: str) -> None:
    recurring = bool(_RECURRING.search(text))
    digest = bool(_DIGEST_NOUN.search(text))
    channel = bool(_CONVERSATION.search(text))
    recap = bool(_RECAP_ANY.search(text)) or (channel and bool(_CONTENT.search(text) or _SEND.search(text)))
    if recurring and (digest or (recap and channel)):
        reading.offer("digest", HEAD + 1.6, "a recurring summary")
        reading.scores["summarize"] /= 2  # a summary on a schedule is a digest, not a summary now
    elif recurring and recap:
        reading.offer("digest", 3.0, "a recurring summary")
    elif digest:
        reading.offer("digest", 1.5, "a digest")
    elif recurring:
        reading.offer("digest", 0.5, "a recurring time")


def _anywhere(reading: Reading, text: str) -> None:
    """Words met anywhere count a little, so that a goal without a clear frame still leans the right way."""
    extra = {"summarize": 1.0 * bool(_RECAP_ANY.search(text)) + 0.4 * bool(_CONVERSATION.search(text)),
             "draft": 0.6 * bool(_COMPOSE_ANY.search(text)),
             "ask": 0.4 * text.rstrip().endswith("?") + 0.4 * bool(_POLICY.search(text))}
    for workflow, bonus in extra.items():
        if bonus and reading.scores[workflow] == 0.0:
            reading.offer(workflow, bonus, "words met in the goal")


STOP = frozenset("""
a an the to of for in on at by with about and or me my our we us you your i it its this that these those is are be
been am was were can could would will shall should may might must do does did done have has had get got from into up
out some any all so if then than as not no yes just also very really too there here what whats how who when where
which why s t d ll re ve m u ya im per
le la les l un une des de du d et ou pour sur dans au aux mon ma mes nos notre votre vos ce cet cette ces c qu que
qui quoi est sont j ai m moi tu te toi il elle on nous vous y en ne pas se s n
""".split())
FILLER = frozenset("""
help helping helped aide aider aidez thing things stuff thoughts thought think reckon idea ideas please pls plz
thanks thank thx ty hi hello hey yo maple someone question questions quick urgent test testing handle handled
look looking into fix do again same last time ok okay sure hmm hm lol nvm care take something anything
everything update updates news going talk chat more right wrong good bad usual bonjour salut allo merci svp stp truc chose vite besoin faire fais go ahead
now asap soon later today yesterday tomorrow sec second minute possible maybe able like want need please
""".split())


def content_words(text: str) -> int:
    return sum(1 for w in re.findall(r"[a-z][a-z0-9]+|\d+", text) if w not in STOP and w not in FILLER)
