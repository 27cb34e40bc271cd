"""Le catalogue français : chaque message de ``bot/core/text.py`` (``EN``), sous la même clé et avec les mêmes
paramètres (``tests/unit/test_text_languages.py`` le vérifie). Les commandes (`/maple run`, `status`…) et les
expressions d'horaire (`every weekday at 9:00`) restent celles que Maple lit."""

from __future__ import annotations

FR: dict[str, str] = {
    "_thousands": "\u00a0",  # 4 000, pas 4,000
    "raw": "{text}",
    "usage": (
        "*Maple* transforme un objectif en travail révisé.\n"
        "• `/maple &lt;objectif&gt;` — p. ex. `/maple rédige une réponse au fournisseur au sujet de la livraison en retard`\n"
        "• `/maple run &lt;flux&gt; &lt;texte&gt;` — choisir vous-même un flux de travail\n"
        "• `/maple workflows` — les flux que vous pouvez lancer\n"
        "• `/maple sources` — les collections de documents que vous pouvez interroger\n"
        "• `/maple status R-…` — où en est une demande, et pourquoi Maple a décidé ce qu'il a décidé\n"
        "• `/maple schedule &lt;quand&gt; &lt;objectif&gt;` — la lancer selon un horaire, p. ex. "
        "`/maple schedule every weekday at 9:00 digest of this channel` (l'horaire s'écrit en anglais)\n"
        "• `/maple schedules` — vos horaires, avec Suspendre / Reprendre / Supprimer / Lancer maintenant\n"
        "• `/maple help` — ce message"
    ),
    "admin_usage": ("Administrateurs : `/maple audit R-…` affiche le journal d'audit d'une demande ; `/maple schedules` "
                    "liste les horaires de tout le monde ; `/maple schedule every monday at 8am run ops-digest "
                    "operations` envoie le bilan des opérations."),
    "intake_accepted": "C'est noté — demande {run}. Je regarde que faire de votre demande et je réponds ici.",
    "intake_finished": "La demande {run} est déjà terminée ; ses messages disent comment.",
    "intake_cancelled": "La demande {run} a été annulée avant de commencer.",
    "working_out": "Je cherche le flux qui convient — demande {run}. Je commence, ou je vous pose la question, dans un instant.",
    "working_no_review": "Je m'en occupe — demande {run}.",
    "goal_too_long": ("Cet objectif compte {got} caractères ; la limite est de {limit} ({over} de trop), donc rien n'a "
                      "été lancé. Voici votre texte, pour le raccourcir et l'envoyer de nouveau :\n\n{goal}"),
    "goal_limit_note": "Un objectif peut compter jusqu'à {limit} caractères.",
    "unavailable": ("Maple est temporairement indisponible (son stockage est injoignable). Rien n'a été enregistré ; "
                    "veuillez réessayer dans une minute."),
    "not_allowed_run": ("Vous n'êtes pas autorisé·e à lancer le flux *{workflow}*. Demandez l'accès à un "
                        "administrateur de Maple."),
    "not_allowed_any": "Vous n'avez pas encore accès à Maple. Demandez à un administrateur de Maple de vous ajouter à un rôle.",
    "not_allowed_decide": "Seuls les réviseurs de ce flux peuvent se prononcer sur cette ébauche. Rien n'a été modifié.",
    "decide_outside_audience": ("Cette ébauche contient le texte d'une conversation que vous ne pouvez pas lire : "
                                "vous ne pouvez pas vous prononcer. Rien n'a été modifié."),
    "only_requester_chooses": "Seule la personne qui a fait la demande peut choisir le flux.",
    "self_approval": "Vous ne pouvez pas approuver votre propre demande. Un autre réviseur doit trancher.",
    "editor_only_approver": "Vous avez modifié cette ébauche : un autre réviseur doit donc l'approuver.",
    "status_denied": ("Vous ne pouvez voir que l'état des demandes que vous avez faites, que vous révisez ou que vous "
                      "administrez."),
    "audit_denied": "Seuls les administrateurs de Maple peuvent voir les journaux d'audit.",
    "audit_unavailable": "Le journal d'audit est illisible pour le moment ; veuillez réessayer dans une minute.",
    "run_not_found": "Je ne trouve pas la demande {run}. Vérifiez l'identifiant : R- suivi de 16 lettres et chiffres.",
    "no_model": ("Aucun modèle n'est configuré, je ne peux donc pas rédiger ceci. Un administrateur peut définir "
                 "OPENAI_API_KEY ou activer le modèle local dans la configuration de Maple (`maple config check` "
                 "montre ce qui est actif)."),
    "unknown_workflow": "Il n'y a pas de flux nommé *{workflow}*. `/maple workflows` liste ceux que vous pouvez lancer.",
    "already_running": "La demande {run} est déjà en cours avec le flux *{workflow}*.",
    "run_usage": "Utilisation : `/maple run &lt;flux&gt; &lt;texte&gt;` — `/maple workflows` les liste.",
    "ask_back": "Je ne sais pas quel flux convient à « {goal} ». Vouliez-vous dire :",
    "choice_line": "*{title}* — {description}",
    "choose": "Choisir",
    "none_of_these": "Aucun de ceux-ci",
    "dismissed": ("Rien n'a été lancé pour « {goal} ». Formulez-le autrement, ou nommez vous-même le flux : "
                  "`/maple run &lt;flux&gt; &lt;texte&gt;` (`/maple workflows` les liste)."),
    "only_requester_dismisses": "Seule la personne qui a fait la demande peut répondre à cette question.",
    "no_workflows": "Il n'y a aucun flux que vous puissiez lancer. Demandez l'accès à un administrateur de Maple.",
    "workflows_header": "Les flux que vous pouvez lancer :",
    "workflow_line": "• *{title}* (`{id}`) — {description}",
    "modal_failed": "Slack n'a pas pu ouvrir le formulaire à temps. Veuillez cliquer de nouveau sur le bouton.",
    "already_approved": "Vous avez déjà approuvé cette ébauche ; elle attend un autre réviseur.",
    "already_decided": "Cette demande a déjà été tranchée ({state}). Rien n'a été modifié.",
    "not_in_review": "Cette demande n'attend plus de révision ({state}).",
    "draft_changed": ("L'ébauche a changé depuis que vous l'avez vue (quelqu'un l'a modifiée). Consultez la nouvelle "
                      "version et décidez de nouveau. Rien n'a été modifié."),
    "empty_reason": "Veuillez indiquer pourquoi vous refusez l'ébauche.",
    "empty_edit": "L'ébauche ne peut pas être vide.",
    "edit_too_long": "L'ébauche est limitée à {limit} caractères.",
    "too_many_versions": ("Cette ébauche a été modifiée {count} fois, le maximum que Maple conserve. Refusez-la et "
                          "refaites la demande."),
    "not_in_channel": ("Je ne suis pas membre de {channel}, je ne peux donc pas y publier. Invitez-moi avec "
                       "`/invite @Maple` dans ce canal, puis réessayez."),
    "approved_banner": ":white_check_mark: Approuvée par {user} le {at}",
    "rejected_banner": ":x: Refusée par {user} le {at}",
    "told_approved": "Votre demande {run} a été approuvée par {user} et publiée dans {channel}.",
    "told_rejected": "Votre demande {run} a été refusée par {user}. Motif : {reason}",
    "review_overdue": ("La demande {run} ({workflow}) attend une révision depuis {minutes} minutes. Veuillez "
                       "l'approuver, la modifier ou la refuser."),
    "told_failed": "La demande {run} n'a pas pu être menée à bien : {why}",
    "refused": "La demande {run} a été refusée : {why}",
    "rerouted": ("Le résultat de la demande {run} ne peut pas être publié dans {channel} ({why}) ; il vous a été "
                 "envoyé directement à la place."),
    "not_for_you": "le résultat de cette demande est de niveau {level} et votre compte ne peut pas le recevoir",
    "too_sensitive_for": "il est de niveau {level}, au-delà de ce qu'une conversation {place} peut recevoir",
    "guest_in_destination": "il est de niveau {level} et un compte invité peut lire cette conversation",
    "outside_audience": "il contient du texte provenant de {sources} et tout le monde ici ne peut pas le lire",
    "unknown_reader": "la personne qui le lirait est inconnue",
    "a_dm": "un message direct",
    "no_reviewer_may_see": ("aucun réviseur de ce flux ne peut voir cette ébauche ({why}) ; demandez à un "
                            "administrateur de Maple d'ajouter un réviseur qui le peut"),
    "review_moved": ("Cette ébauche n'est plus affichée ici ({why}). Elle a été envoyée aux réviseurs qui peuvent la "
                     "voir."),
    "no_reviewers": "aucun réviseur n'est configuré pour ce flux ; adressez-vous à un administrateur de Maple",
    "gave_up": "Maple a abandonné après plusieurs tentatives ; un administrateur peut la voir avec `maple runs failed`",
    "no_eligible_model": ("cette demande contient des données de niveau {level} et aucun modèle disponible n'est "
                          "autorisé pour des données de niveau {level}. Rien n'a été envoyé à un modèle. Retirez les "
                          "détails sensibles ou demandez à un administrateur d'activer un modèle autorisé."),
    "weak_model_note": "rédigé par le modèle de démonstration {model} — configurez-en un plus solide pour du vrai travail",
    "unknown_command": "Je n'ai pas compris `{text}`. ",
    "policy_blocked": ("l'ébauche enfreignait une règle et n'a pas été soumise à la révision ({why}). Reformulez la "
                       "demande et réessayez."),
    "status_title": "*{goal}* — demande {run}",
    "status_queued": "En attente de démarrage (depuis {wait}).",
    "status_drafting": "Maple rédige l'ébauche (demandée il y a {wait}).",
    "status_in_review": "En attente de révision par {who} depuis {wait}, soit depuis le {at}.",
    "status_nobody_yet": "réviseurs pas encore joints",
    "status_approvals": "{count} approbation(s) sur {quorum} jusqu'ici.",
    "status_approved": "Approuvée par {user} le {at} ; publication en cours.",
    "status_delivered": "Terminé : approuvée par {user} le {at} et publiée.",
    "status_delivered_unreviewed": "Terminé : publiée le {at} (ce flux n'a pas de révision).",
    "status_rejected": "Refusée par {user} le {at}. Motif : {reason}",
    "status_failed": "N'a pas pu être menée à bien : {error}",
    "status_refused": "Refusée : {error}",
    "status_asked": "Flux : *{workflow}* · demandé par {user} le {at}",
    "status_asked_unchosen": "Flux : pas encore choisi · demandé par {user} le {at}",
    "status_classified": "Flux choisi par le modèle {model}.",
    "status_model": "Rédigée par le modèle {model} : {why}.",
    "route_cheapest": ("le modèle le moins coûteux suffisant pour cette tâche qui peut voir des données de niveau "
                       "{level}"),
    "route_best_available": ("le meilleur modèle qui peut voir des données de niveau {level} ; aucun des plus solides "
                             "ne le peut, attendez-vous donc à une ébauche sommaire"),
    "route_fallback": "le premier choix n'a pas répondu, c'est donc le suivant qui l'a rédigée",
    "status_usage": "{tokens} jetons utilisés (environ {cost} $).",
    "status_zone": "_Heures exprimées dans le fuseau {zone}._",
    "status_which": "Précisez la demande : `/maple status R-…` (l'identifiant figure dans les messages de Maple à son sujet).{recent}",
    "status_recent": "\nVos dernières demandes : {runs}",
    "audit_which": "Précisez la demande : `/maple audit R-…` (l'identifiant figure dans les messages de Maple à son sujet).",
    "not_a_run_id": ("« {text} » n'est pas un identifiant de demande : un identifiant est R- suivi de 16 lettres et "
                     "chiffres, p. ex. `R-7K2M9XQ4T8B3N6PW`."),
    "less_than_a_minute": "moins d'une minute",
    "one_minute": "1 minute",
    "minutes": "{n} minutes",
    "hours": "{n} heures",
    "days": "{n} jours",
    "and_more": " et {n} autre(s)",
    "audit_head": "*Journal d'audit de {run}*",
    "audit_line": "• `{at}` {kind}",
    "audit_line_by": "• `{at}` {kind} par {user}",
    "notice_review": "Ébauche à réviser — demande {run}",
    "model_edited": "modifiée par {user}",
    "model_line": "{model} · {tokens} jetons · {cost} $",
    "approvals_progress": "Approuvée par {who} — {count} approbation(s) sur {quorum} requises",
    "footer_requested": "Demandée par {user} · demande {run}",
    "footer_approved": "approuvée par {user}",
    "notice_result": "Résultat de la demande {run}",
    "throttled_user": ("Un instant : vous avez lancé autant de demandes que Maple en accepte par minute ({limit} par "
                       "personne). Rien n'a été lancé ; réessayez {when}."),
    "throttled_team": ("Un instant : votre espace de travail a lancé autant de demandes que Maple en accepte par "
                       "minute ({limit} par espace de travail). Rien n'a été lancé ; réessayez {when}."),
    "in_seconds": "dans {seconds} secondes",
    "in_one_second": "dans 1 seconde",
    "in_minutes": "dans environ {minutes} minutes",
    "foreign_workspace": ("Maple n'est pas configuré pour cet espace de travail ; il ne peut donc pas accepter de "
                          "demandes d'ici. Rien n'a été lancé. Adressez-vous aux administrateurs de l'espace de "
                          "travail auquel Maple appartient si vous avez besoin d'un accès."),
    "workspace_unknown": ("Maple est encore en train de démarrer (il ne peut pas confirmer à quel espace de travail il "
                          "appartient). Veuillez réessayer dans une minute."),
    # horaires
    "schedule_usage": ("Utilisation : `/maple schedule &lt;quand&gt; &lt;objectif&gt;` ou `/maple schedule "
                       "&lt;quand&gt; run &lt;flux&gt; &lt;texte&gt;`, p. ex. `/maple schedule every weekday at 9:00 "
                       "digest of this channel`. L'horaire s'écrit en anglais : `every weekday at 9:00`, "
                       "`daily 17:30`, `every monday at 8am`, `every 2 hours`, `on the 1st of each month` ou une "
                       "expression cron (`0 9 * * 1-5`)."),
    "schedule_examples": ("Essayez p. ex. `every weekday at 9:00`, `daily 17:30`, `every monday at 8am`, "
                          "`every 2 hours`, `on the 1st of each month` ou une expression cron comme `0 9 * * 1-5`."),
    "not_understood": "Je n'ai pas compris « {part} » dans « {context} ». {examples}",
    "no_schedule_found": "« {part} » ne dit pas quand le lancer : commencez par l'horaire. {examples}",
    "unit_not_understood": ("Je n'ai pas compris l'unité « {part} » dans « {context} » : utilisez des minutes ou des "
                            "heures, p. ex. `every 2 hours`."),
    "time_bad": "« {part} » n'est pas une heure : utilisez p. ex. `9:00`, `17:30` ou `8am`.",
    "day_of_month_bad": "« {part} » n'est pas un jour du mois (1 à 31), p. ex. `on the 1st of each month`.",
    "cron_fields": ("Une expression cron compte 5 champs (minute, heure, jour du mois, mois, jour de la semaine) ; "
                    "j'en ai trouvé {count}."),
    "cron_field_bad": "Le champ {field} « {value} » de cette expression cron n'est pas valide ({why}).",
    "too_often": "Un horaire peut s'exécuter au plus toutes les {minutes} minutes.",
    "too_rare": ("Un intervalle peut être d'au plus 7 jours : pour moins souvent, nommez le jour "
                 "(`every monday at 9:00`) ou utilisez `on the 1st of each month`."),
    "schedule_never": "Cet horaire ne s'exécuterait jamais (aucune date ne lui correspond).",
    "schedule_no_goal": ("Indiquez quoi lancer après l'horaire, p. ex. `/maple schedule every weekday at 9:00 digest "
                         "of this channel`."),
    "schedule_which_workflow": ("Je n'ai pas pu déterminer quel flux est « {goal} » : précisez-le avec `run`, p. ex. "
                                "`/maple schedule every monday at 8am run digest weekly digest of this channel`."),
    "schedule_limit": "Vous avez déjà {count} horaires, le maximum par personne. Supprimez-en un d'abord.",
    "schedule_cannot_post": "vous ne pouvez pas publier dans {channel}",
    "schedule_created": ("Horaire {id} créé : *{workflow}* {when} ({zone}), publié dans {channel}.\n"
                         "Prochaines exécutions : {times}\nSi ce n'est pas ce que vous vouliez, supprimez-le avec "
                         "`/maple schedules`."),
    "schedules_header": "*Horaires*",
    "schedules_header_all": "*Horaires* (tous, en tant qu'administrateur)",
    "schedules_none": ("Vous n'avez aucun horaire. `/maple schedule every weekday at 9:00 digest of this channel` en "
                       "crée un."),
    "schedule_line": ("*{id}* · *{workflow}* {when} ({zone}) dans {channel} · par {owner}\n"
                      "Prochaine : {next} · Dernière : {last}"),
    "schedule_line_config": "_géré par le fichier de configuration_",
    "schedule_paused_line": "_suspendu_ : {why}",
    "schedule_last_none": "pas encore exécuté",
    "schedule_last": "{result} le {at}",
    "schedule_next_none": "—",
    "schedule_not_found": "Il n'y a pas d'horaire {id}.",
    "schedule_not_yours": ("Seul le propriétaire d'un horaire ou un administrateur de Maple peut le modifier. Rien n'a "
                           "été modifié."),
    "schedule_config_managed": "L'horaire {id} est géré par le fichier de configuration : modifiez-le là.",
    "schedule_paused": "L'horaire {id} est suspendu.",
    "schedule_resumed": "L'horaire {id} reprend ; prochaine exécution {next}.",
    "schedule_deleted": "L'horaire {id} a été supprimé.",
    "schedule_started": "L'horaire {id} a lancé la demande {run}.",
    "schedule_already": "L'horaire {id} a déjà été lancé pour ce moment.",
    "schedule_paused_by_owner": "suspendu par {user}",
    "schedule_revoked": ("Votre horaire {id} (*{workflow}*) a été suspendu : {why}. Une fois le problème réglé, "
                         "reprenez-le depuis `/maple schedules` ou l'onglet d'accueil de Maple."),
    "schedule_missed": ("Votre horaire {id} (*{workflow}*) a manqué {count} exécution(s) pendant que Maple était "
                        "arrêté (prévues du {first} au {last}) ; elles avaient plus de {grace} minutes de retard, "
                        "elles ont donc été consignées comme manquées et non exécutées."),
    "schedule_no_workflow": "son flux {workflow} n'existe plus",
    "schedule_not_allowed": "vous ne pouvez plus lancer le flux {workflow}",
    "schedule_owner_gone": "le compte de son propriétaire est désactivé",
    "digest_nothing": "Rien n'a été publié dans {channel} entre le {since} et le {until}.",
    "digest_parts": "{messages} messages résumés en {parts} parties puis combinés",
    "home_schedules": "*Vos horaires*",
    "calls_planned": "*À l'approbation, Maple fera ces appels, une fois chacun :*",
    "call_planned": "• `{tool}` — {what}",
    "calls_dropped": ("_La modification a retiré le ou les appels prévus avec la version précédente : approuver cette "
                      "version ne fait aucun appel. Pour les faire, refusez-la et refaites la demande._"),
    "calls_made": "*Appels faits après l'approbation :*",
    "call_done": ":white_check_mark: `{tool}` : {result}",
    "call_failed": ":x: `{tool}` a échoué : {error}",
    "call_unknown": (":warning: `{tool}` a été lancé, mais Maple n'a pas pu savoir s'il a abouti ; il n'a pas été "
                     "répété. Vérifiez le système sur lequel il agit."),
    # Connaissances : collections, sources, citations
    "collection_denied": "vous ne pouvez pas lire la collection *{name}*. Collections que vous pouvez lire : {mine}",
    "collection_unnamed": "vous ne pouvez lire aucune collection de documents. Collections que vous pouvez lire : {mine}",
    "no_collections": "aucune — demandez l'accès à un administrateur de Maple",
    "not_covered": "Les documents approuvés ({collections}) ne traitent pas de cette question.",
    "extract_intro": "Tiré des documents approuvés :",
    "extract_note": ("cité des documents : le seul modèle autorisé pour cette question est de qualité démonstration, "
                     "Maple cite donc au lieu de rédiger"),
    "citations_removed": "citation(s) {numbers} retirée(s) : elles ne correspondent à aucune source",
    "citation_unknown": "la ou les citations {numbers} ne correspondent à aucune source",
    "sources_heading": "*Sources*",
    "source_line": "[{n}] {title}{section}",
    "source_section": " — {section}",
    "sources_header": "Collections de documents que vous pouvez interroger :",
    "sources_collection": "• *{name}* — {documents} documents, dernière ingestion le {at}{description}",
    "sources_never": "• *{name}* — aucun document pour l'instant{description}",
    "sources_none": "Il n'y a aucune collection de documents que vous puissiez lire. Demandez l'accès à un administrateur de Maple.",
    "sources_unavailable": "La base de connaissances est illisible pour le moment ; veuillez réessayer dans une minute.",
    "a_collection": "la collection {name}",
    # La première heure : plus personne pour approuver, les administrateurs prennent le relais, l'annulation
    "edit_leaves_nobody": ("Personne d'autre ne peut approuver cette ébauche. Si vous enregistrez une modification, "
                           "vous ne pourrez pas l'approuver vous-même, et la demande attendra qu'un administrateur "
                           "de Maple prenne la révision en charge ou l'annule. Pour approuver l'ébauche telle quelle, "
                           "fermez ce formulaire et cliquez sur Approuver."),
    "edit_then_others": "Après votre modification, vous ne pourrez pas approuver cette version vous-même : {who} le peut.",
    "admins_only": "Seuls les administrateurs de Maple peuvent faire cela. Rien n'a été modifié.",
    "take_not_stuck": ("La demande {run} n'est pas bloquée : ses réviseurs peuvent encore l'approuver, la révision "
                       "leur revient. Rien n'a été modifié."),
    "cancel_not_yours": ("Seule la personne qui a fait la demande, ou un administrateur de Maple, peut l'annuler. "
                         "Rien n'a été modifié."),
    "review_you_edited": "Vous avez modifié cette version : un autre réviseur doit donc l'approuver.",
    "review_editor_cannot": "Modifiée par {user}, qui ne peut pas approuver cette version.",
    "review_stuck": (":warning: Plus personne ne peut approuver cette version ({why}). Un administrateur de Maple "
                     "peut prendre la révision en charge ou annuler la demande."),
    "stuck_edited": "{user} l'a modifiée et personne d'autre ne peut l'approuver",
    "stuck_nobody": "toutes les personnes qui peuvent l'approuver l'ont demandée, modifiée ou déjà approuvée",
    "stuck_admins": ("La demande {run} est bloquée : plus personne ne peut l'approuver ({why}). Prenez la révision "
                     "en charge vous-même, ou annulez la demande."),
    "told_stuck": ("La demande {run} est en attente : plus personne ne peut l'approuver ({why}). {admins} peut "
                   "prendre la révision en charge ou l'annuler ; vous pouvez l'annuler depuis le message de votre "
                   "demande."),
    "the_admins": "Un administrateur de Maple ({who})",
    "the_admins_unnamed": "Un administrateur de Maple",
    "status_stuck": ("Bloquée : plus personne ne peut l'approuver ({why}). Un administrateur de Maple peut prendre "
                     "la révision en charge ou l'annuler."),
    "cancelled_banner": ":no_entry_sign: Annulée par {user} le {at}",
    "told_cancelled": "La demande {run} a été annulée par {user}. Rien n'a été publié.",
    "took_review": ("Vous êtes maintenant réviseur de la demande {run} : l'ébauche se trouve dans vos messages "
                    "avec Maple."),
    "cancel_done": "La demande {run} a été annulée. Rien n'a été publié.",
    "button_take_review": "Réviser moi-même",
    "button_cancel_run": "Annuler la demande",
    "run_name": "« {goal} » ({run})",
    # un texte non révisé le dit là où on le lit
    "working_private": ("Je m'en occupe — demande {run}. Un modèle la rédige et personne ne la révise : je vous "
                        "l'enverrai donc à vous seul·e."),
    "label_unreviewed_cited": ("_Non révisé par une personne : rédigé par un modèle à partir des documents approuvés "
                               "ci-dessous._"),
    "label_unreviewed": (":warning: *Non révisé, et ne provenant pas de documents approuvés.* Un modèle a rédigé "
                         "ce texte ; vérifiez-le avant de vous y fier."),
    "label_quoted": "_Cité des documents approuvés ci-dessous ; non révisé par une personne._",
    "label_notes": "_{notes}_",
    # le message de révision commence par la décision
    "review_header": "Ébauche à réviser",
    "header_approved": "Approuvée",
    "header_rejected": "Refusée",
    "header_cancelled": "Annulée",
    "header_closed": "N'est plus en révision",
    "field_posts_to": "*L'approbation publie dans*\n{where}",
    "field_posted_to": "*Publiée dans*\n{where}",
    "field_level": "*Sensibilité*\n{level}",
    "field_level_found": "*Sensibilité*\n{level} — trouvé : {found}",
    "field_requester": "*Demandée par*\n{user}",
    "field_read": "*Lu dans*\n{channels}",
    "where_public": "{channel} — canal public",
    "where_private": "{channel} — canal privé",
    "where_shared": "{channel} — canal Slack Connect, lu par des personnes extérieures à l'espace de travail",
    "where_dm": "les messages directs de la personne qui a fait la demande avec Maple",
    "where_thread": "un fil dans {where}",
    "where_instead": "{where}, au lieu de {channel}, qui ne peut pas le recevoir",
    "where_unknown": "pas encore déterminé",
    "label_goal": "*Objectif*\n{goal}",
    "label_draft": "*Ébauche*",
    "draft_truncated": (":warning: _Tronquée : l'ébauche a été coupée à sa longueur maximale. Modifier affiche tout "
                        "ce qui a été conservé._"),
    "review_details": "Flux {workflow} · {model} · demande {run}",
    # le message de suivi de la personne qui a fait la demande
    "told_approved_dm": "Votre demande {run} a été approuvée par {user} et vous a été envoyée en message direct.",
    "working_tracked": ("Je m'en occupe — demande {run}. Je soumettrai l'ébauche à la révision. Suivez-la dans vos "
                        "messages directs avec Maple : un message y indique où elle en est et vous permet de "
                        "l'annuler."),
    "progress_goal": "*{goal}*",
    "progress_queued": ":hourglass: En file d'attente — en attente d'un processus de travail",
    "progress_drafting": ":hourglass: Rédaction en cours…",
    "progress_review": ":hourglass: Chez les réviseurs : {who}",
    "progress_review_quorum": ":hourglass: Chez les réviseurs : {who} — {count} approbation(s) sur {quorum}",
    "progress_stuck": (":warning: Chez les réviseurs, mais plus personne ne peut l'approuver ({why}). Un "
                       "administrateur de Maple peut la prendre en charge, ou vous pouvez l'annuler."),
    "progress_approved": ":hourglass: Approuvée par {user} — publication en cours…",
    "progress_delivered": ":white_check_mark: Approuvée par {user} le {at}, publiée dans {where}",
    "progress_delivered_dm": ":white_check_mark: Approuvée par {user} le {at}, envoyée en message direct",
    "progress_rejected": ":x: Refusée par {user} le {at} : {reason}",
    "progress_cancelled": ":no_entry_sign: Annulée par {user} le {at}. Rien n'a été publié.",
    "progress_failed": ":warning: N'a pas pu être menée à bien : {why}",
    "progress_refused": ":no_entry_sign: Refusée : {why}",
    "progress_details": "{workflow} · demande {run}",
    "button_revise": "Réviser",
    "revise_title": "Réviser et soumettre de nouveau",
    "revise_submit": "Soumettre de nouveau",
    "revise_reason": "Refusée par {user} : {reason}",
    "revise_goal": "Objectif",
    "revise_not_yours": "Seule la personne qui a fait la demande peut la réviser.",
    "revise_not_rejected": "Seule une demande refusée ou annulée peut être révisée ; celle-ci est {state}.",
    # l'onglet d'accueil, par personne ; les administrateurs nommés à qui n'a pas accès
    "not_allowed_any_named": ("Vous n'avez pas encore accès à Maple. Demandez à un administrateur de Maple ({who}) "
                              "de vous ajouter à un rôle."),
    "no_workflows_named": ("Il n'y a aucun flux que vous puissiez lancer. Demandez l'accès à un administrateur de "
                           "Maple ({who})."),
    "not_allowed_run_named": ("Vous n'êtes pas autorisé·e à lancer le flux *{workflow}*. Demandez l'accès à un "
                              "administrateur de Maple ({who})."),
    "home_mine": "*Vos demandes*",
    "home_mine_none": ("_Vous n'avez aucune demande dans les 7 derniers jours. Essayez `/maple rédige un message "
                       "de bienvenue pour les nouvelles recrues`._"),
    "home_waiting": "*En attente de votre révision*",
    "home_waiting_none": "_Rien n'attend votre révision._",
    "home_attention": "*À surveiller (administrateurs)*",
    "home_attention_none": ("_Rien ne requiert un administrateur : aucune demande bloquée, en retard ou en échec "
                            "dans les 7 derniers jours._"),
    "home_run": "• {run} · {workflow} · {state}",
    "home_run_stuck": "• :warning: {run} · {workflow} · bloquée : plus personne ne peut l'approuver ({why})",
    "home_run_yours_edit": "• {run} · {workflow} · vous l'avez modifiée : un autre réviseur doit l'approuver",
    "home_failed": "• {run} · en échec : {why}",
    "home_overdue": "• {run} · en attente de révision depuis {minutes} minutes",
    "state_queued": "en file d'attente",
    "state_drafting": "en rédaction",
    "state_in_review": "chez les réviseurs",
    "state_approved": "approuvée, publication en cours",
    "state_rejected": "refusée",
    "state_delivered": "approuvée et publiée",
    "state_failed": "n'a pas pu être menée à bien",
    "state_refused": "refusée par Maple",
    "state_cancelled": "annulée",
    # contrôles des opérateurs
    "frozen_no_model": ("Les opérateurs de Maple ont suspendu tous les modèles externes à ce déploiement, et aucun "
                        "modèle interne ne peut faire cette étape. Rien n'a été envoyé à l'extérieur ; veuillez "
                        "réessayer plus tard."),
    "intake_paused": ("Maple est suspendu par ses opérateurs et n'accepte pas de nouvelles demandes pour le moment. "
                      "Rien n'a été lancé ; veuillez réessayer plus tard."),
    "control_frozen_note": (":lock: Les modèles externes sont gelés par les opérateurs de Maple : seuls les modèles "
                            "qui restent dans ce déploiement sont utilisés."),
    "control_paused_note": ":double_vertical_bar: Les nouvelles demandes sont suspendues par les opérateurs de Maple.",
    "cancelled": "un opérateur l'a annulée",
    "maple_status_head": "*État de Maple*",
    "control_none": ("Aucun contrôle des opérateurs n'est en vigueur : tous les modèles configurés peuvent être "
                     "utilisés et les demandes sont acceptées."),
    "status_queue": ("File d'attente : {waiting} demande(s) en attente d'un processus de travail ; la plus ancienne "
                     "attend depuis {oldest} s."),
    "queued_behind": ("{head} Maple est occupé : votre demande est en file d'attente derrière {others} autres et "
                      "démarrera dès qu'un processus de travail sera libre. Rien n'est perdu."),
    # le volet de l'assistant
    "pane_greeting": ("Bonjour {user} ! Donnez-moi un objectif : je choisirai le flux, le bon modèle et, au besoin, "
                      "je le ferai réviser — comme avec `/maple`. Voici quelques exemples de demandes :"),
    "pane_greeting_none": ("Bonjour {user} ! Vous n'avez encore accès à aucun flux de Maple. Demandez à un "
                           "administrateur de Maple de vous ajouter à un rôle."),
    "pane_prompts_title": "Ce que vous pouvez demander à Maple",
    "pane_thinking": "lit votre objectif…",
    "goal_withheld": "Une demande avec des renseignements personnels",
    "reason_withheld": "(retenu : la demande contient le texte d'une conversation que vous ne pouvez pas lire)",
    "pane_working": "travaille sur {run}…",
    "stream_withheld": "_Maple a cessé d'afficher cette réponse au fil de l'écriture : elle est d'abord vérifiée en "
                       "entier, et la suite vous dit où elle va._",
    "stream_interrupted": "_Cette réponse a été interrompue avant la fin ; Maple réessaie, et la réponse complète "
                          "suit._",
    "stream_moved": "_Cette réponse n'a pas été terminée ici : {why}_",
    # suivis
    "revising": "Révision de la demande {run} en version {version} ; les réviseurs verront ce qui a changé.",
    "followup_refused": ("Le suivi de {run} n'a pas été rédigé : {why} La version soumise à la révision y est "
                         "toujours."),
    "followups_max": ("Cette ébauche a déjà eu {count} suivis ; faites plutôt une nouvelle demande avec un nouvel "
                      "objectif."),
    "review_revised": ("_Version {version}, révisée après un suivi de {user} : {asked} — {before} → {after} "
                       "mots._"),
    "revising_answer": ("Révision de la demande {run} en version {version} ; la nouvelle réponse sera publiée là où "
                        "était la précédente."),
    "followup_busy": ("La demande {run} est encore en cours ({state}) ; répondez de nouveau ici une fois sa réponse "
                      "publiée."),
    "followup_cancelled": "La demande {run} a été annulée : elle ne peut pas être révisée ; faites une nouvelle demande.",
    "followup_rejected": ("La demande {run} a été refusée : elle ne peut pas être révisée ici ; utilisez *Réviser* sur "
                          "son message de suivi, ou faites une nouvelle demande."),
    "followup_ended": "La demande {run} est terminée ({state}) ; faites une nouvelle demande.",
    "followup_gone": ("La demande {run} n'est plus conservée (purgée ou expirée) : elle ne peut pas être révisée ; "
                      "faites une nouvelle demande."),
    "changes_head": "*Ce qui a changé* depuis la version {version} :",
    "change_removed": "− ~{text}~",
    "change_added": "+ {text}",
    "changes_more": "_…et {count} autres phrases modifiées._",
    "changes_none": "_Le texte est le même qu'en version {version}._",
    # avis sur les réponses livrées
    "feedback_good_label": "Cette réponse était utile",
    "feedback_bad_label": "Cette réponse n'était pas utile",
    "feedback_thanks": "Merci — votre {vote} pour la demande {run} est enregistré.",
    "feedback_old_answer": ("Cette réponse de la demande {run} a été révisée depuis ; donnez votre avis sur sa "
                            "dernière réponse."),
    "feedback_again": "Vous avez déjà donné votre avis sur la demande {run} ; il n'a été enregistré qu'une fois.",
    "feedback_denied": "Vous ne pouvez donner votre avis que sur un résultat que vous pouvez voir.",
    "feedback_not_delivered": "Les avis portent sur les résultats livrés ; la demande {run} est {state}.",
    "feedback_head": "*Avis sur les réponses livrées* (:+1: / :-1:, par flux et par modèle) :",
    "feedback_line": "• {workflow} · {model} : :+1: {up} · :-1: {down}",
    "feedback_none": "Aucun avis sur les réponses livrées pour l'instant.",
    "feedback_unavailable": "Les avis sont illisibles pour le moment ; veuillez réessayer dans une minute.",
    # les libellés du message de révision et des formulaires
    "level_public": "Public",
    "level_internal": "Interne",
    "level_confidential": "Confidentiel",
    "level_restricted": "Restreint",
    "lvl_public": "public",
    "lvl_internal": "interne",
    "lvl_confidential": "confidentiel",
    "lvl_restricted": "restreint",
    "no_draft": "_(aucune ébauche)_",
    "rest_too_long": "_…la suite est trop longue pour un seul message ; Modifier l'affiche en entier._",
    "button_approve": "Approuver",
    "button_edit": "Modifier",
    "button_reject": "Refuser",
    "modal_close": "Annuler",
    "edit_title": "Modifier l'ébauche",
    "edit_submit": "Enregistrer",
    "edit_intro": "Demande {run} · votre modification remplace l'ébauche ; l'originale est conservée.",
    "edit_field": "Ébauche",
    "edit_field_part": "Ébauche (partie {part} sur {parts})",
    "reject_title": "Refuser l'ébauche",
    "reject_submit": "Refuser",
    "reject_reason": "Motif",
    "button_pause": "Suspendre",
    "button_resume": "Reprendre",
    "button_delete": "Supprimer",
    "button_run_now": "Lancer maintenant",
    "schedule_delete_title": "Supprimer cet horaire ?",
    "schedule_delete_text": "{id} ne sera plus lancé.",
    "schedule_keep": "Le garder",
    "schedules_more": "_…plus d'horaires que ce qui tient ici_",
    # notes sur une ébauche
    "over_budget_note": "budget quotidien de jetons dépassé : rédigé par un modèle gratuit",
    "budget_capped_note": ("le budget quotidien de jetons restant a limité cette réponse à {tokens} jetons : elle "
                           "peut être tronquée"),
    "placeholders_note": ("{count} valeur(s) personnelle(s) ont été remplacées par des espaces réservés avant "
                          "l'appel au modèle"),
    "budget_spent": ("le budget quotidien de jetons (le vôtre ou celui de votre équipe) n'a plus de place pour "
                     "cette demande et aucun modèle gratuit n'est admissible. Les budgets sont remis à zéro à "
                     "00 h 00 UTC ; un administrateur peut les augmenter."),
    # outils : refus et échecs sur ce qu'une personne a écrit
    "calc_not_arithmetic": "ce n'est pas une expression arithmétique",
    "calc_too_complex": "l'expression est trop complexe",
    "calc_too_large": "le résultat (ou une étape du calcul) est trop grand pour être calculé exactement",
    "calc_division_by_zero": "division par zéro",
    "calc_negative_sqrt": "racine carrée d'un nombre négatif",
    "calc_too_long": "l'expression dépasse {limit} caractères",
    "calc_allowed": "seuls les nombres, + - * / // % ** et {functions} sont permis",
    "calc_exponent": "les exposants doivent être des nombres entiers compris entre -{limit} et +{limit}",
    "calc_one_argument": "{function} prend un seul argument",
    "calc_other_arguments": "{function} prend d'autres arguments",
    "calc_round_digits": "round() prend un nombre entier de chiffres compris entre -{limit} et +{limit}",
    "tool_timed_out": "le calcul a pris trop de temps et a été arrêté ; essayez-en un plus petit",
    "tool_busy": "Les calculateurs de Maple sont tous occupés ; veuillez réessayer dans une minute",
    "tool_failed": "{tool} n'a pas pu traiter cette entrée",
    "tool_crashed": "{tool} n'a pas pu traiter cette entrée ({error})",
    "tool_invalid_arguments": "arguments non valides pour {tool} : {why}",
    "side_effect_before_approval": ("{tool} modifierait quelque chose ({what}) : il n'est lancé qu'après "
                                    "approbation"),
    "no_calculation": "Je n'ai trouvé ni calcul ni question de date dans ce message",
    "no_date_question": "aucune question de date trouvée (écrivez les dates ainsi : 2027-03-31)",
    "date_question_unclear": ("Je ne vois pas quoi calculer avec cette date : demandez par exemple « combien de "
                              "jours avant le 2027-03-31 », « 10 jours ouvrables après le 2026-12-01 » ou « le "
                              "2026-12-25 est-il un jour ouvrable ? »"),
    "date_out_of_range": "cette date est hors du calendrier que Maple sait compter (années 1 à 9999)",
    "date_limit": "au plus {limit} {unit}",
    "invalid_date": "{value} n'est pas une date valide",
    "unknown_time_zone": "fuseau horaire inconnu « {name} »",
    "channel_not_found": ("Je ne trouve aucun canal #{name} que vous pouvez voir : je n'ai donc rien lu. Choisissez "
                          "le canal dans la liste de Slack en tapant # (il devient un lien), ou posez la question "
                          "depuis ce canal"),
    "no_such_tool": "il n'existe aucun outil nommé « {tool} »",
    "tool_frozen": ("{tool} appelle hors de ce déploiement, et les opérateurs de Maple ont gelé pour l'instant "
                    "tout ce qui est externe : rien n'a été envoyé"),
    "tool_not_cleared": "{tool} est autorisé pour des données de niveau {cleared} au plus ; celles-ci sont de niveau {level}",
    "tool_args_not_cleared": ("{tool} est autorisé pour des données de niveau {cleared} au plus ; ces arguments "
                              "sont de niveau {level}"),
    "ops_digest_admins": "le résumé des opérations est réservé aux administrateurs de Maple",
    "dismissed_reason": "aucun des flux proposés ne convenait (selon le demandeur)",
    "when_at": "{label} à {at}",
    "when_no_time": "{at} (aucune heure indiquée)",
    "when_every_day": "tous les jours",
    "when_weekdays": "chaque jour de semaine (du lundi au vendredi)",
    "when_weekend": "chaque samedi et dimanche",
    "when_day": "chaque {day}",
    "when_days": "chaque {days} et {last}",
    "list_comma": "{a}, {b}",
    "when_every_hour": "toutes les heures",
    "when_every_hours": "toutes les {n} heures",
    "when_every_minutes": "toutes les {n} minutes",
    "when_monthly": "le {day} de chaque mois à {at}{note}",
    "when_skipped": " (les mois sans ce jour sont sautés)",
    "when_cron": "cron `{cron}`",
    "workflow_gone": ("Le flux *{workflow}* n'est plus configuré : cette ébauche ne peut donc pas être tranchée "
                      "ici."),
    "mcp_unreachable": "le serveur MCP {server} est injoignable",
    "mcp_unset": "le serveur MCP {server} est injoignable : {missing} non défini(s)",
    "mcp_timed_out": "le serveur MCP {server} n'a pas répondu en {seconds} s",
    "mcp_broken": "le serveur MCP {server} a fermé la connexion ou a répondu autre chose que du MCP",
    "mcp_tool_error": "{tool} a répondu par une erreur : {detail}",
    "mcp_not_offered": "{tool} est permis dans la configuration, mais son serveur ne le propose pas",
    "mcp_unusable": "{tool} ne peut pas être utilisé : {problem}",
    "http_path_utf8": "le chemin de l'URL n'est pas de l'UTF-8 valide",
    "http_path_encoded": ("le chemin de l'URL est encodé deux fois ou contient des caractères de contrôle ou des "
                          "barres obliques inverses"),
    "http_path_dot": "le chemin de l'URL contient un segment point avec des paramètres",
    "http_url_characters": "l'URL contient des espaces, des caractères de contrôle ou des barres obliques inverses",
    "http_url_malformed": "ce n'est pas une URL bien formée",
    "http_url_scheme": "seules les URL http(s) simples sont permises",
    "http_method": "{method} n'est pas permis pour {target}",
    "http_not_allowed": "{url} ne figure pas dans la liste des adresses http permises",
    "http_unresolved": "impossible de résoudre {host}",
    "http_address": "{host} correspond à une adresse {why} ; refusé",
    "http_not_cleared": "{target} n'est autorisé que pour des données de niveau {cleared}",
    "http_redirect": "{target} a répondu par une redirection, ce qui n'est pas permis",
    "http_redirects": "trop de redirections",
    "http_too_large": "la réponse dépasse {limit} octets",
    "http_timeout": "{target} n'a pas répondu en {seconds} s",
    "http_failed": "{target} : {error}",
    "history_dm_only_here": ("Maple ne lit un message direct que lorsque vous le demandez depuis cette "
                             "conversation"),
    "history_not_member": "vous n'êtes pas membre de {channel} : Maple ne le lira pas pour vous",
    # calcul de dates, répondu dans la langue de la question
    "unit_business_day": "jour ouvrable",
    "unit_business_days": "jours ouvrables",
    "unit_day": "jour",
    "unit_days": "jours",
    "unit_week": "semaine",
    "unit_weeks": "semaines",
    "unit_month": "mois",
    "unit_months": "mois",
    "unit_year": "an",
    "unit_years": "ans",
    "date_add": "{count} {unit} après le {start} : le {weekday} {result}{note}.",
    "date_subtract": "{count} {unit} avant le {start} : le {weekday} {result}{note}.",
    "date_weekday": "Le {day} est un {weekday}.",
    "date_is_business": "Le {day} ({weekday}) est un jour ouvrable.",
    "date_not_business": "Le {day} ({weekday}) n'est pas un jour ouvrable : {why}.",
    "date_weekend": "c'est la fin de semaine",
    "date_holiday": "c'est un jour férié configuré",
    "date_between": "{n} {unit} entre le {a} et le {b}{counted}{note}.",
    "date_counted": " : après le {a}, jusqu'au {b} inclusivement",
    "date_until": ("{n} {unit} d'ici le {day} ({weekday}), à compter du {today} dans le fuseau {tz}"
                   "{counted}{note}."),
    "date_since": "{n} {unit} depuis le {day} ({weekday}), à compter du {today} dans le fuseau {tz}{counted}{note}.",
    "date_note_holidays": " (fins de semaine et jours fériés configurés exclus)",
    "date_note_no_holidays": " (fins de semaine exclues ; aucun jour férié configuré)",
    "weekday_0": "lundi",
    "weekday_1": "mardi",
    "weekday_2": "mercredi",
    "weekday_3": "jeudi",
    "weekday_4": "vendredi",
    "weekday_5": "samedi",
    "weekday_6": "dimanche",
    "wd_0": "lun.",
    "wd_1": "mar.",
    "wd_2": "mer.",
    "wd_3": "jeu.",
    "wd_4": "ven.",
    "wd_5": "sam.",
    "wd_6": "dim.",
    "mon_1": "janv.",
    "mon_2": "févr.",
    "mon_3": "mars",
    "mon_4": "avr.",
    "mon_5": "mai",
    "mon_6": "juin",
    "mon_7": "juill.",
    "mon_8": "août",
    "mon_9": "sept.",
    "mon_10": "oct.",
    "mon_11": "nov.",
    "mon_12": "déc.",
    "local_time": "{weekday} {day} {month} {year} {time} {zone}",
    "the_channel": "le canal",
    "both_languages": "{first}\n\n{second}",
}
