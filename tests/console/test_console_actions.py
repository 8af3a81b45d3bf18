"""What agents do in the console, end to end on the store: each action, its events, the
reply it queues (built as it would leave), the correction kept, the preview that changes
nothing, the queue's pages and search; and mail text escaped everywhere."""

from sqlalchemy import func, select

from tests.console.conftest import mail, record, token
from triage.outbox.compose import reply_message
from triage.store.console_models import CorrectionRow
from triage.store.models import CaseRow, EventRow, ReplyRow


def act(client, reference, verb, **form):
    return client.post(f"/api/cases/{reference}/{verb}", data=form, headers={"X-CSRF-Token": token(client, "/")})


def pending_replies(console, reference):
    with console.store.transaction() as session:
        return [(r.template, r.agent_text, r.account_department, r.missing) for r in session.scalars(
            select(ReplyRow).join(CaseRow).where(CaseRow.reference == reference, ReplyRow.status == "pending"))]


def sent_text(console, rules, reference):
    """The text of the case's pending reply as it would leave."""
    with console.store.transaction() as session:
        reply = session.scalars(select(ReplyRow).join(CaseRow).where(
            CaseRow.reference == reference, ReplyRow.status == "pending")).one()
        message = reply_message(session, reply, console.settings, rules, reply.created_at)
        return message.get_body(preferencelist=("plain",)).get_content()


def counts(console):
    with console.store.transaction() as session:
        return [session.scalar(select(func.count()).select_from(model)) for model in (ReplyRow, EventRow,
                                                                                      CorrectionRow)]


def test_correcting_to_self_service_queues_the_instructions_and_keeps_the_correction(console, rules):
    client = console.client("c.durand")
    reference = console.cases["expired"]
    engine = client.get(f"/api/cases/{reference}").get_json()
    assert engine["action"] == "acknowledge" and engine["kind"] == "expired"
    response = act(client, reference, "correct", action="self_service", case="lost", identifier="jdupont-xt",
                   department="07")
    assert response.status_code == 200 and response.get_json()["status"] == "self_service_sent"
    assert [r[0] for r in pending_replies(console, reference)] == ["self_service"]
    assert "Mot de passe -xt oublié" in sent_text(console, rules, reference)
    with console.store.transaction() as session:
        correction = session.scalars(select(CorrectionRow)).one()
        assert (correction.agent, correction.department) == ("c.durand", "07")
        assert correction.engine == {"action": "acknowledge", "case": "expired", "identifier": "jdupont-xt",
                                     "department": "07"}
        assert correction.agreed == {**correction.engine, "action": "self_service", "case": "lost"}
    kinds = [e["kind"] for e in response.get_json()["events"] if e["actor"] == "c.durand"]
    assert kinds == ["corrected", "status_changed", "reply_superseded", "reply_queued"]


def test_a_redirect_names_the_department_of_the_account(console, rules):
    client = console.client("c.durand")
    reference = console.cases["expired"]
    assert act(client, reference, "correct", action="redirect_department", case="expired",
               identifier="jdupont-xt", department="07").status_code == 409, "not to its own department"
    assert act(client, reference, "correct", action="redirect_department", case="expired",
               identifier="jdupont-xt", department="38").status_code == 200
    assert pending_replies(console, reference) == [("redirect_department", "", "38", None)]
    text = sent_text(console, rules, reference)
    assert "ddfip38.pgp.spl-pes@dgfip.finances.gouv.fr" in text and "Isère" in text


def test_a_request_for_information_asks_for_what_is_missing(console, rules):
    client = console.client("c.durand")
    reference = console.cases["expired"]
    refused = act(client, reference, "correct", action="request_info", case="expired", identifier="jdupont-xt",
                  department="07")
    assert refused.status_code == 409 and "rien ne manque" in refused.get_json()["error"]
    assert act(client, reference, "correct", action="request_info", case="expired", identifier="",
               department="07").status_code == 200
    assert pending_replies(console, reference) == [("request_info", "", None, ["identifier"])]
    assert "identifiant de connexion" in sent_text(console, rules, reference)


def test_a_correction_that_keeps_the_action_sends_nothing_more(console):
    client = console.client("c.durand")
    reference = console.cases["expired"]
    before = pending_replies(console, reference)
    assert act(client, reference, "correct", action="acknowledge", case="expired", identifier="jdupont2-xt",
               department="07").get_json()["identifier"] == "jdupont2-xt"
    assert pending_replies(console, reference) == before


def test_a_form_that_is_not_valid_changes_nothing(console):
    client = console.client("c.durand")
    reference = console.cases["expired"]
    before = counts(console)
    for form in ({"action": "delete", "case": "lost", "department": "07"},
                 {"action": "acknowledge", "case": "lost", "identifier": "pas un identifiant", "department": "07"},
                 {"action": "acknowledge", "case": "lost", "department": "99"}):
        response = act(client, reference, "correct", **form)
        assert response.status_code == 409 and response.get_json()["error"]
    assert counts(console) == before


def test_a_preview_shows_the_reply_and_changes_nothing(console):
    client = console.client("c.durand")
    reference = console.cases["expired"]
    before = counts(console)
    response = client.post(f"/api/cases/{reference}/resolve?preview=1", data={"text": "Votre compte est réactivé."},
                           headers={"X-CSRF-Token": token(client, "/")})
    preview = response.get_json()["preview"]
    assert preview["recipient"] == "jean.dupont@mairie-lamastre.fr" and reference in preview["subject"]
    assert "Votre compte est réactivé." in preview["text"] and "a été traitée" in preview["text"]
    page = client.post(f"/cases/{reference}/correct", data={
        "csrf_token": token(client, "/"), "apercu": "1", "action": "self_service", "case": "lost",
        "identifier": "jdupont-xt", "department": "07"}).get_data(as_text=True)
    assert "Aperçu : rien n'est encore enregistré ni envoyé" in page and "Mot de passe -xt oublié" in page
    assert counts(console) == before
    with console.store.transaction() as session:
        assert session.scalar(select(CaseRow.status).where(CaseRow.reference == reference)) == "ready_for_agent"


def test_resolve_sends_the_agents_sentence_and_counts_as_agreement(console, rules):
    client = console.client("c.durand")
    reference = console.cases["expired"]
    response = client.post(f"/cases/{reference}/resolve", data={
        "csrf_token": token(client, "/"), "text": "Un mot de passe provisoire vous a été envoyé.", "note": "fait"})
    assert response.status_code == 302 and response.headers["Location"].endswith("fait=resolve")
    assert "Dossier résolu" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert pending_replies(console, reference) == [("resolved", "Un mot de passe provisoire vous a été envoyé.",
                                                    None, None)]
    assert "Un mot de passe provisoire vous a été envoyé." in sent_text(console, rules, reference)
    with console.store.transaction() as session:
        correction = session.scalars(select(CorrectionRow)).one()
        assert correction.engine == correction.agreed and correction.agreed["action"] == "acknowledge"
    again = client.post(f"/cases/{reference}/resolve", data={"csrf_token": token(client, "/")})
    assert again.status_code == 409 and "rien à résoudre" in again.get_data(as_text=True)
    assert act(client, reference, "reopen").get_json()["status"] == "needs_review"


def test_taking_a_case_shows_who_and_a_colleague_takes_it_over_knowingly(console):
    reference = console.cases["expired"]
    durand, bernard = console.client("c.durand"), console.client("a.bernard")
    assert act(durand, reference, "take").get_json()["taken_by"] == "c.durand"
    assert "c.durand" in bernard.get("/").get_data(as_text=True)
    refused = act(bernard, reference, "take")
    assert refused.status_code == 409 and "déjà pris par c.durand" in refused.get_json()["error"]
    assert act(bernard, reference, "take", force="1").get_json()["taken_by"] == "a.bernard"
    assert act(bernard, reference, "release").get_json()["taken_by"] is None


def test_an_unconfirmed_reply_is_settled_by_an_agent(console):
    reference = console.cases["expired"]
    with console.store.transaction() as session:
        reply = session.scalars(select(ReplyRow).join(CaseRow).where(CaseRow.reference == reference)).one()
        reply.status, reply_id = "unconfirmed", reply.id
    client = console.client("c.durand")
    assert "non confirmée : à vérifier" in client.get(f"/cases/{reference}").get_data(as_text=True)
    assert act(client, reference, "settle", reply=str(reply_id), received="maybe").status_code == 409
    replies = act(client, reference, "settle", reply=str(reply_id), received="no").get_json()["replies"]
    assert [r["status"] for r in replies] == ["failed"]
    assert act(client, reference, "settle", reply=str(reply_id), received="yes").status_code == 409


def test_a_note_is_kept_with_its_author(console):
    client = console.client("c.durand")
    reference = console.cases["lost"]
    assert act(client, reference, "note", text="   ").status_code == 409
    events = act(client, reference, "note", text="Rappelée au téléphone.").get_json()["events"]
    assert events[-1] | {"at": "", "at_label": ""} == {
        "at": "", "at_label": "", "actor": "c.durand", "kind": "note", "kind_label": "note", "old_status": None,
        "new_status": None, "detail": "Rappelée au téléphone."}


def test_the_queue_pages_through_every_case_once_and_searches(console, rules, store, tmp_path):
    for number in range(23):
        record(store, rules, tmp_path, mail(f"Bonjour, mot de passe expiré, identifiant agent{number}-xt.",
                                            f"m{number}@mairie-lamastre.fr", sender=f"agent{number}@mairie-lamastre.fr"),
               f"{number}.eml")
    client = console.client("c.durand")
    seen, url = [], "/api/cases?limit=7"
    while url:
        response = client.get(url)
        assert int(response.headers["X-Total-Count"]) == 25
        seen += [c["reference"] for c in response.get_json()]
        link = response.headers.get("Link")
        url = link[1:link.index(">")] if link else None
    assert len(seen) == 25 == len(set(seen)) and seen == sorted(seen)
    assert [c["identifier"] for c in client.get("/api/cases?q=AGENT12-XT").get_json()] == ["agent12-xt"]
    assert [c["reference"] for c in client.get(f"/api/cases?q={seen[3]}").get_json()] == [seen[3]]
    assert [c["requester"] for c in client.get("/api/cases?q=m.martin@").get_json()] == ["m.martin@mairie-privas.fr"]
    assert client.get("/api/cases?q=%25").get_json() == [], "a % is searched for, not a wildcard"
    first = client.get("/").get_data(as_text=True)
    assert "Page suivante" not in first, "50 a page by default"
    assert first.count('<td class="ref">') == 25


def test_mail_text_is_escaped_in_pages_and_kept_as_text_in_json(console, rules, store, tmp_path):
    script = "<script>alert(1)</script>"
    reference = record(store, rules, tmp_path, mail(
        f"Bonjour {script} mot de passe expiré, identifiant xss-xt.\n\n> ancien {script}", "xss@mairie-lamastre.fr",
        sender="xss@mairie-lamastre.fr", name=f"Jean {script}", subject=f"Sujet {script}"), "xss.eml")
    client = console.client("c.durand")
    queue, case = client.get("/?q=xss").get_data(as_text=True), client.get(f"/cases/{reference}").get_data(as_text=True)
    assert reference in queue and "<script>alert" not in queue
    assert "<script>alert" not in case
    assert case.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4, "name, subject, text, quoted history"
    detail = client.get(f"/api/cases/{reference}").get_json()
    assert detail["messages"][0]["subject"] == f"Sujet {script}"


def test_the_evidence_of_each_check_reads_in_french(console):
    page = console.client("c.durand").get(f"/cases/{console.cases['expired']}").get_data(as_text=True)
    assert "<td>True</td>" not in page and "<td>False</td>" not in page and "[&#39;" not in page
    assert "<td>ddfip07.pgp.spl-pes@dgfip.finances.gouv.fr, 07</td>" in page and "<td>oui</td>" in page
