"""The French words agents read for statuses, case kinds, actions and the service's
health, and the names of the columns of a case's line: one place for the console, the
report and its CSV."""

STATUS = {
    "new": "nouveau",
    "waiting_requester": "en attente du demandeur",
    "ready_for_agent": "prêt pour un agent",
    "needs_review": "à examiner",
    "self_service_sent": "auto-dépannage indiqué",
    "redirected": "réorienté vers une autre DDFIP",
    "resolved": "résolu",
    "closed": "clos",
    "ignored": "ignoré (courrier automatique)",
}

KIND = {
    "lost": "mot de passe oublié",
    "expired": "mot de passe expiré",
    "unclear": "problème d'accès à préciser",
    "other": "autre demande",
}

ACTION = {
    "ignore": "ignoré",
    "human_review": "examen par un agent",
    "redirect_department": "réorientation",
    "self_service": "auto-dépannage par SMS",
    "request_info": "demande de précisions",
    "acknowledge": "accusé de réception",
}

EVENT = {
    "case_opened": "dossier ouvert",
    "message_joined": "message rattaché",
    "message_decided": "message analysé",
    "status_changed": "changement de statut",
    "reopened": "dossier rouvert",
    "requester_changed": "adresse du demandeur mise à jour",
    "case_linked": "dossier lié",
    "reply_queued": "réponse préparée",
    "reply_superseded": "réponse remplacée",
    "note": "note",
    "resolved": "dossier résolu",
    "closed": "dossier clos",
    "purged": "données effacées (durée de conservation)",
    "quarantined": "message mis en quarantaine (erreur du traitement)",
    "reply_sent": "réponse envoyée",
    "reply_failed": "échec d'envoi de la réponse",
    "reply_suppressed": "réponse non envoyée (règle de sécurité)",
    "reply_dry_run": "réponse écrite dans un fichier (mode simulation)",
    "reply_bounced": "réponse non distribuée (retour à l'expéditeur)",
    "reply_unconfirmed": "envoi de la réponse interrompu : réception non confirmée, jamais renvoyée",
    "reminder_queued": "relance préparée (demandeur sans nouvelles)",
    "corrected": "décision corrigée par un agent",
    "department_changed": "dossier transféré dans la file d'un autre département",
    "taken": "pris en charge",
    "released": "remis dans la file",
    "reply_settled": "réponse non confirmée vérifiée par un agent",
    "login": "connexion à la console",
    "login_failed": "échec de connexion à la console",
    "login_throttled": "connexion refusée : trop de tentatives",
    "logout": "déconnexion de la console",
}

REPLY_STATUS = {
    "pending": "en attente",
    "sending": "envoi en cours",
    "delivering": "envoi en cours",
    "sent": "envoyée",
    "failed": "échec",
    "superseded": "remplacée",
    "suppressed": "non envoyée (règle de sécurité)",
    "bounced": "non distribuée",
    "dry_run": "simulation",
    "unconfirmed": "non confirmée : à vérifier",
}

WARNING = {
    "password_disclosed": "mot de passe écrit dans le message (masqué)",
    "unparseable": "message illisible",
    "quarantined": "erreur de traitement (quarantaine)",
    "wrong_department": "compte d'un autre département",
    "reply_failed": "réponse non distribuée ou en échec",
    "other_person": "demande pour le compte d'une autre personne",
    "sender_not_authenticated": "expéditeur non authentifié (usurpation possible)",
}

CHECK = {
    "unparseable": "lecture",
    "automatic": "courrier automatique",
    "mailbox": "boîte",
    "nominative": "adresse",
    "identifier": "identifiant",
    "case-kind": "nature",
    "phone": "portable",
    "self-service-failed": "auto-dépannage",
    "other-person": "autre personne",
    "department": "département",
    "password-disclosed": "mot de passe",
}

# The queue of mail that reached none of our mailboxes, where a department's name goes.
UNKNOWN_QUEUE = "boîte de réception inconnue"

# A case's line (templates/shared/_cases.html.j2) and the details the report adds to it;
# the report's CSV takes its headers from here too.
COLUMN = {
    "reference": "Référence",
    "age": "Âge",
    "status": "Statut",
    "kind": "Nature",
    "identifier": "Identifiant",
    "requester": "Demandeur",
    "action": "Décision du moteur",
    "warnings": "Alertes",
    "taken_by": "Pris par",
    "opened": "Ouvert le",
    "address": "Adresse",
    "nominative": "Adresse nominative",
    "phone": "Portable",
    "missing": "Ce qui manque",
    "reasons": "Motifs de la décision",
    "last_reply": "Dernière réponse envoyée",
    "excerpt": "Extrait du dernier message",
    "raw_copy": "Copie brute",
}

# What the requester said about a registered mobile (the `phone` check), None: nothing.
PHONE = {True: "enregistré", False: "aucun", None: "non précisé"}

MISSING = {
    "identifier": "identifiant en -xt",
    "nominative_sender": "adresse nominative",
}

TEMPLATE = {
    "acknowledge": "accusé de réception",
    "self_service": "auto-dépannage",
    "request_info": "demande de précisions",
    "redirect_department": "réorientation",
    "human_review": "accusé de réception (examen)",
    "resolved": "clôture",
    "reminder": "relance",
}

# Why an automatic mail was ignored, by the code of the `automatic` check's finding.
IGNORED_BECAUSE = {
    "auto-submitted": "réponse automatique (Auto-Submitted)",
    "null-return-path": "expéditeur vide (Return-Path)",
    "delivery-report": "avis de remise ou de lecture",
    "mailing-list": "liste de diffusion",
    "bulk-precedence": "envoi en nombre (Precedence)",
    "autoreply-header": "réponse automatique (en-tête X-Auto…)",
    "robot-sender": "expéditeur automatique (noreply, MAILER-DAEMON…)",
    "our-mailbox": "envoyé par l'une de nos boîtes",
    "robot-subject": "objet d'absence ou d'avis automatique",
}

# How a mailbox is being read (triage/health.py MailboxState), on the console's health page.
HEALTH_STATE = {
    "ok": "relevée normalement",
    "failing": "en erreur : la dernière relève a échoué",
    "never_polled": "jamais relevée",
    "stale": "relève en retard : aucune relève réussie depuis trop longtemps",
}

# An automatic mail decided before the check recorded why (no code in its finding).
IGNORED_OTHER = "autre signal automatique"
