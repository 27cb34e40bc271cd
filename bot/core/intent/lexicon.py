"""The words and patterns the cues read, over the prepared text (lower case, accents folded, see ``normal``).

English and French (Canadian usage included: courriel, fin de semaine, c'est quoi). Grouped by what they tell:
the frame of a clause (greeting, request, want, question), the verb at its head, the noun asked for, a
conversation and what is asked about it, a recurring time, arithmetic, and the words that carry no content.
"""

from __future__ import annotations

import re

# ── The frame of a clause ────────────────────────────────────────────────────────────────────────────────────
GREETING = re.compile(
    r"^(?:hey|hi|hello|dear|yo|ok|okay|so|um+|hm+|bonjour|salut|allo|maple|someone|please|pls|plz|kindly|svp|"
    r"stp|s'il (?:te|vous) plait|quick one|team|all|folks|guys|urgent|asap|also|and|then|just|quickly|oh)\b[\s,:!.]*")
REQUEST = re.compile(
    r"^(?:(?:can|could|would|will|cant|can't|won't|wont)\s+(?:you|u|ya|maple)|"
    r"(?:i|we)\s*(?:'d|would)?\s*(?:need|want|like|love)\s+(?:you|u)\s+to|(?:i|we)\s+(?:have|need|want)\s+to|"
    r"i\s*'ve\s+got\s+to|i\s+gotta|i\s+must|help(?:\s+me)?(?:\s+to)?(?=\s+\w)|(?:peux|pourrais|pourras)[\s-]tu|"
    r"(?:pouvez|pourriez)[\s-]vous|tu\s+peux|est-ce\s+que\s+tu\s+peux|j'aimerais\s+que\s+tu|"
    r"j'ai\s+besoin\s+que\s+tu|aide[sz]?[\s-]moi\s+a|aider\s+a|merci\s+de|let's|lets|go\s+ahead\s+and|"
    r"(?:i|we)\s+(?:need|want)\s+(?:some\s+)?help\s+(?:with\s+)?|(?:is|would)\s+it\s+(?:be\s+)?possible\s+to|"
    r"any\s+chance\s+(?:you\s+(?:could|can)\s+)?|(?:do|would)\s+you\s+mind|"
    r"(?:can|could|may)\s+(?:i|we)\s+(?=(?:get|have|see)\s+(?:a|an|the|some|my)\b))\b[\s,]*")
WANT = re.compile(
    r"^(?:(?:i|we)\s*(?:'d|would)?\s*(?:need|want|like|love|appreciate)|would\s+(?:love|like|appreciate)|need|"
    r"want|i'm\s+after|j'ai\s+besoin\s+d'?|je\s+voudrais|j'aimerais|il\s+me\s+faut|je\s+veux)\b\s*")
WH = re.compile(
    r"^(?:what|whats|wat|wht|how|hw|who|whos|whom|whose|when|where|wheres|which|why|quel\w*|combien|comment|"
    r"pourquoi|qui|quand|ou|quoi|c'est\s+(?:quoi|quand|qui|ou|combien|comment)|c\s+koi|ckoi|qu'est|est-ce|"
    r"any|anything|anyone|anybody|does\s+anyone)\b")
AUX = re.compile(
    r"^(?:is|are|am|was|were|do|does|did|dont|doesn't|can|could|should|shall|may|might|will|would|have|has|had|"
    r"must|est|sont|y\s+a|a-t-on|peut-on|puis-je|dois-je|doit-on|ai-je|avons-nous|faut-il)\b")
DO_THING = re.compile(r"^do\s+(?:the|a|an|this|that|it|some|something|anything|my|our)\b")  # "do the thing"
TO_MAPLE = re.compile(r"^(?:are|is|do|did|can|could|will|would|have)\s+(?:you|u|maple)\b")  # small talk

# ── The verb at the head of a clause ─────────────────────────────────────────────────────────────────────────
COMPOSE = re.compile(
    r"^(?:draft\w*|draught|drfat|write|writing|wite|compose|pen|craft|reply|respond|announce|word|phrase|"
    r"rephrase|reword|rewrite|invite|thank|congratulate|welcome|apologi[sz]e|wish|greet|email|e-mail|"
    r"message|dm|souhaite[rz]?|jot|reach\s+out|follow\s+up\s+(?:with|on)|nudge|shoot|drop\s+(?:a|an|them|him|her)|"
    r"get\s+back\s+to|circle\s+back|relance\w*|contacte[rz]?|type(?:\s+up)?|redige\w*|ecri[rstv]\w*|"
    r"repon[ds]\w*|annonce[rz]?|formule[rz]?|remercie[rz]?|invite[rz]?)\b|"
    r"^(?:tell|remind|inform|notify|warn|ask|ping|update|dis|rappelle)\s+(?!me\b|moi\b|us\b|nous\b|if\b|whether\b)|"
    r"^let\s+(?!me\b|us\b)(?:\S+\s+){1,5}?know\b|^informe[rz]?\b|^previens\b|"
    r"^say\s+(?:thanks|thank\s+you|sorry|congrat\w*|hello|hi|goodbye|bye|welcome|no|yes|something|a\s+few\s+words)\b|"
    r"^(?:post|share|announce)\s+(?:(?:in|to|on|with)\s+\S+(?:\s+\S+)?\s+)?(?:that|about)\b|"
    r"^something\s+(?:for|to\s+(?:send|post|say|tell|share)|i\s+can\s+(?:send|post|share))\b|"
    r"^make\s+sure\s+(?:everyone|everybody|the\s+\w+|people|all|our\s+\w+)\s+(?:knows?|is\s+aware|remembers?)\b")
RECAP = re.compile(
    r"^(?:summari[sz]\w*|summary|recap\w*|tl;?dr|boil|condense|sum\s+(?:it\s+)?up|digest\s+(?:this|the|that|it)|"
    r"distill?|wrap\s+up|brief\s+me|catch\s+(?:me\s+)?up|fill\s+me\s+in|skim|go\s+(?:over|through)|"
    r"resum\w*|synthetise\w*|fais\s+le\s+point|in\s+a\s+nutshell)\b")
READ = re.compile(  # a summary when what follows is a conversation ("read #support and…", "shorten this thread")
    r"^(?:read|scan|review|look\s+(?:through|over|at|into)|check|go\s+(?:over|through)|parcour\w*|lis|lire|"
    r"shorten|trim|compress|abridge|raccourci\w*|compile|highlight)\b")
CALC = re.compile(
    r"^(?:calculate|calc|calcule\w*|compute|add|sum|total|multiply|divide|split|convert|average|figure\s+out|"
    r"work\s+out|combien\s+(?:font|fait)|additionne\w*|multiplie\w*|divise\w*|converti\w*|round)\b")
ASK = re.compile(
    r"^(?:tell\s+(?:me|us)|explain|describe|define|clarify|remind\s+me|find\s+out|look\s+up|know|show\s+me|"
    r"point\s+me|(?:i\s*'d|i\s+would)\s+like\s+to\s+know|i\s+(?:want|need)\s+to\s+know|i\s+wonder|"
    r"(?:i\s*'m|im|i\s+am)?\s*wondering|(?:i\s*'m|im)\s+curious|curious|explique\w*|dis[\s-]moi|dites[\s-]moi|"
    r"je\s+me\s+demande|(?:je\s+voudrais|j'aimerais|je\s+veux)\s+savoir|(?:i\s+)?(?:need|want)\s+to\s+"
    r"(?:know|understand|find\s+out)|understand|learn\s+about|(?:i\s*'m|im|i\s+am)?\s*(?:looking|searching)\s+for|"
    r"trying\s+to\s+find|je\s+cherche|on\s+cherche|"
    r"(?:dire|savoir)\s+(?=combien|si|quand|ou|qui|comment|quel|pourquoi|ce\s+que)|do\s+you\s+know|d'you\s+know|"
    r"any\s+idea\s+(?=if|whether|what|how|where|when|who|why)|savez-vous|sais-tu|tu\s+sais|(?:i\s+)?forgot|"
    r"(?:me|nous)\s+dire|j'ai\s+oublie)\b")
GENERIC = re.compile(  # verbs whose object says what is wanted: "give me the gist", "send a note"
    r"^(?:(?:give|get|create|make|send|prepare|prep|put|pull|throw|whip|produce|do|post|share|drop|need|want|have|"
    r"extract|list|come\s+up\s+with|i\s+need|i\s+want)(?:\s+(?:out|over|together|up|back|across))?|"
    r"fais|faire|donne|envoie|prepare[rz]?)\b")

# ── The noun asked for, after an optional determiner and up to three words that are not determiners ───────────
DELIVERABLE = (
    r"(?:message|msg|email|e-mail|mail|note|letter|memo|announcement|post|reply|response|answer|blurb|statement|"
    r"invitation|invite|reminder|bio|ad|posting|talking\s+points|agenda|apology|thank[\s-]you|congrats|"
    r"congratulations|farewell|toast|speech|text|copy|newsletter|press\s+release|update|heads[\s-]up|"
    r"shout[\s-]?out|welcome|intro|introduction|dm|tweet|caption|script|pitch|paragraph|description|write-?up|"
    r"wording|draft|courriel|lettre|annonce|reponse|mot|brouillon|invitation|rappel|communique|texte)")
RECAP_NOUN = (
    r"(?:summary|summaries|recap|tl;?dr|gist|highlights|rundown|run-down|short\s+version|cliff\s*notes|"
    r"key\s+points|takeaways|overview|main\s+points|action\s+items|digest|round-?up|executive\s+summary|"
    r"synopsis|resume|synthese|grandes\s+lignes|points\s+saillants|faits\s+saillants|decisions|"
    r"open\s+questions|main\s+arguments|bullet\s+points|bullets|themes|main\s+themes|outcomes?|conclusions?|"
    r"minutes|key\s+decisions|short\s+list|brief|briefing|topo|compte[\s-]rendu|sommaire|apercu)")
CALC_NOUN = r"(?:average|total|sum|product|difference|tip|tax|discount|markup|interest|montant|moyenne|somme)"
ASK_NOUN = (
    r"(?:info|information|details|polic(?:y|ies)|rules?|procedures?|process|steps|instructions|guide|"
    r"guidelines|link|url|address|contact|phone\s+number|hours|deadline|documentation|docs|faq|politique|"
    r"regles?|adresse|lien|coordonnees|renseignements|informations|marche\s+a\s+suivre)")
_DETERMINER = r"(?:a|an|the|some|my|our|this|that|un|une|le|la|les|des|du|de|ce|cette)"
_OBJECT = (r"^(?:(?:me|us|moi|nous|-moi)\s+)?(?:(?:a|an|the|some|one|my|our|un|une|le|la|les|mon|ma|du|de)\s+)?"
           rf"(?:(?!{_DETERMINER}\s)[\w'-]+\s+){{0,3}}?")
NOUNS = (
    (re.compile(_OBJECT + RECAP_NOUN + r"\b"), "summarize", "asks for a summary"),
    (re.compile(_OBJECT + DELIVERABLE + r"s?\b"), "draft", "asks for a message"),
    (re.compile(_OBJECT + CALC_NOUN + r"\b"), "calc", "asks for a total"),
    (re.compile(_OBJECT + ASK_NOUN + r"\s+(?:to|for|on|about|of|regarding|around|pour|sur|de|du|des)\s+\w"), "ask",
     "asks for information"),
)

# ── A conversation, and what a question asks about it ──────────────────────────────────────────────────────────
CONVERSATION = re.compile(
    r"(?:^|\s)#[a-z0-9][\w.-]*|\b(?:channel|thread|discussion|conversation|convo|chat|dms?|back[\s-]and[\s-]forth|"
    r"debate|messages|posts|canal|fil|echanges?|discussions?)\b")
IN_CONVERSATION = re.compile(
    r"\b(?:in|from|of|on|within|across|with|about|regarding|re|according\s+to|dans|du|de|sur|selon)\s+"
    r"(?:the\s+|this\s+|that\s+|le\s+|la\s+|ce\s+|cette\s+)?"
    r"(?:#[\w.-]+|(?:[\w-]+\s+)?(?:channel|thread|discussion|conversation|chat|dm|canal|fil)\b)")
CONTENT = re.compile(
    r"\b(?:happen\w*|going\s+on|goes\s+on|discuss\w*|said|say\w*|talk\w*|decid\w*|decision\w*|conclu\w*|agree\w*|"
    r"miss\w*|new|consensus|status|open\s+questions?|complain\w*|outcome|main\s+points?|takeaways?|gist|posted|"
    r"mention\w*|activity|s'est\s+dit|s'est\s+passe|passe|dit|quoi\s+de\s+neuf|nouveau|next\s+steps|decisions|"
    r"latest|went\s+on|vibe|mood|sentiment|important|in\s+there|unhappy|happy|upset|themes?|conclusions?|"
    r"land(?:ed)?\s+on|settle[ds]?\s+on|" + RECAP_NOUN[3:-1] + r")\b|\babout\s*\??$")
PERMISSION = re.compile(r"\b(?:can|may|could|should)\s+(?:i|we)\b|\bam\s+i\b|\bare\s+we\b|\bpuis-je\b|\bpeut-on\b|"
                        r"\bdois-je\b|\bhow\s+(?:do|can)\s+(?:i|we)\b")
POLICY = re.compile(r"\b(?:rules?|polic\w*|allowed|allow|permitted|ok\s+to|okay\s+to|guidelines?|procedure|"
                    r"process|etiquette|regle\w*|politique|permis|supposed\s+to)\b")
RECAP_ANY = re.compile(rf"\b(?:summari[sz]\w*|{RECAP_NOUN}|boil\w*\s+down|condense|sum\s+up|catch\s+me\s+up|"
                       r"fill\s+me\s+in|in\s+a\s+nutshell|resum\w*)\b")
MISSED = re.compile(r"\bwhat\s+(?:did|have)\s+i\s+miss\w*|\bqu'est-ce\s+que\s+j'ai\s+manque|\bcatch\s+me\s+up\b")
COMPOSE_ANY = re.compile(rf"\b(?:draft\w*|write|compose|reply|respond|{DELIVERABLE}s?)\b")

# ── A recurring time ────────────────────────────────────────────────────────────────────────────────────────────
_DAY = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday"
RECURRING = re.compile(
    r"\b(?:daily|weekly|monthly|nightly|biweekly|quotidien\w*|hebdomadaire\w*|mensuel\w*|"
    rf"(?:every|each|chaque)\s+(?:other\s+)?(?:day|week|month|morning|evening|night|afternoon|weekday|{_DAY}|"
    r"jour|matin|soir|semaine|mois|lundi|mardi|mercredi|jeudi|vendredi)|"
    r"tous\s+les\s+(?:jours|matins|soirs|lundis|mardis|mercredis|jeudis|vendredis)|"
    r"on\s+a\s+schedule|(?:every|each)\s+\d+\s+(?:days|weeks)|"
    r"(?:on\s+)?(?:mondays|tuesdays|wednesdays|thursdays|fridays|weekdays|weekends|mornings|evenings)|"
    rf"(?:{_DAY}|morning|evening|end[\s-]of[\s-](?:day|week)|eod|weekend)\s+(?:digest|round-?up|recap|summary))\b")
DIGEST_NOUN = re.compile(r"\b(?:digest|round-?up)\b")
SEND = re.compile(r"\b(?:send|post|share|envoie|publie)\b")

# ── Arithmetic (ISO dates are taken out before these are read) ────────────────────────────────────────────────
ISO = re.compile(r"\b\d{4}-\d{1,2}-\d{1,2}\b")
NUMBER = re.compile(r"(?<![\w.])\$?\d[\d,.]*(?:\s?\d{3})*(?:[km]\b|\b)")
_OP = r"(?:[+*/x×^÷]|\s-\s|\*\*)"
EXPRESSION = re.compile(rf"\d\)?\s*[$%€]?\s*{_OP}\s*\(?\s*\$?\d|^\s*\(?\s*\$?\d[\d,.]*\s*\)?\s*{_OP}")
ONLY_MATH = re.compile(r"^[\d\s$%.,+\-*/x×^÷()=?]+$|^(?:sqrt|round|abs|min|max)\s*\(")
WORD_OP = re.compile(
    r"\d(?:\s*[$%])?\s+(?:[a-z]+\s+){0,3}?(?:times|multiplied\s+by|divi\w*\s+(?:by|par|among|between|into)|"
    r"plus|minus|fois|moins|over)\s+\$?\s*\d|\bmultiply\s+\$?\d[\d.,]*\s+(?:by|and)\s+\d|"
    r"\b(?:\d+\s+)?(?:half|halves|thirds?|quarters?|fifths?|tenths?|moitie|tiers|quart)\s+(?:of|de)\s+\$?\d|"
    r"\b(?:difference|sum|product|total|average|mean|moyenne|somme|ratio)\s+(?:between|of|de|entre)\s+\$?\d")
POWER = re.compile(r"\b(?:squared|cubed|square\s+root|sqrt|power|puissance|au\s+carre)\b")
PERCENT = re.compile(r"\d\s*(?:%|percent)")
PERCENT_OF = re.compile(
    r"\d\s*(?:%|percent)\s+(?:off\s+of|of|on|off|de|sur|from)\s+\$?\s*\d|"
    r"\d\s*(?:%|percent)\s+(?:tip|tax|discount|markup|interest|de\s+rabais)\s+(?:on|of|off|sur)")
UNIT_PRICE = re.compile(
    r"\d[\d.,]*\s+(?:[a-z]+\s+){1,3}?(?:at|@)\s+\$?\d|"
    r"\bpercent(?:age)?\s+(?:change|increase|decrease|difference|growth)\s+(?:from|between|of)\s+\$?\d|"
    r"\bwhat\s+percent(?:age)?\s+(?:is|of)\s+\$?\d")
HOW_MUCH = re.compile(r"\bhow\s+(?:many|much)\b|\bcombien\b|\bwhat(?:'s|\s+is)\s+the\s+total\b")
SPLIT = re.compile(r"\b(?:split|divide|share|average|partage\w*|multiply|subtract|add|sum|total|convert|payment|"
                   r"per\s+(?:month|day|person|head|hour|week|year)|each|apiece|a\s+piece)\b")
ALTERNATIVES = re.compile(r"\d[\d.,]*\s*(?:%|percent|\$|k)?\s+(?:or|ou)\s+\$?\d")
DATE_Q = re.compile(
    r"\b(?:combien|how\s+(?:many|long)|until|till|jusqu\w*|depuis|since|avant|before|after|apres|from)\b")
MONEY_TERMS = re.compile(r"\b(?:tip|tax|taxes|discount|markup|interest|hst|gst|tps|tvq|pst|vat|increase|decrease|"
                         r"growth|grow|raise|rabais|pourboire|taxe|hausse)\b")

# ── Words that carry no content: a goal made only of these is vague ────────────────────────────────────────────
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
look looking into fix do again same last time ok okay sure hmm hm lol nvm care take something anything everything
update updates news going talk chat more right wrong good bad usual bonjour salut allo merci svp stp truc chose vite
besoin faire fais go ahead now asap soon later today yesterday tomorrow sec second minute possible maybe able like
want need
""".split())
