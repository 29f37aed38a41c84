"""Demo data: both nations' authorities, ministries, companies, people and a dozen records.

Every password and TOTP seed here is public (README); never load this into a real node.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from entente.core.models import Organisation, OrganisationKind, Role, RoleGrant, User
from entente.security import audit
from entente.security.labels import LabelSpec
from entente.security.models import (
    Caveat,
    CaveatGrant,
    Classification,
    Clearance,
    Community,
    FacilityClearance,
    Membership,
)
from entente.security.services import create_sample_record

DEMO_PASSWORD = "entente-demo-2026"  # noqa: S105 — documented demo credential

ORGANISATIONS = [
    ("gbr-nsa", "GBR", OrganisationKind.NATIONAL_SECURITY_AUTHORITY,
     "UK National Security Authority", "英国国家安全保障当局"),
    ("gbr-mod", "GBR", OrganisationKind.MINISTRY, "Ministry of Defence (UK)", "英国国防省"),
    ("gbr-des", "GBR", OrganisationKind.ACQUISITION_AGENCY, "Defence Equipment and Support",
     "英国国防装備支援庁"),
    ("gbr-raf", "GBR", OrganisationKind.ARMED_SERVICE, "Royal Air Force", "英国空軍"),
    ("albion-aero", "GBR", OrganisationKind.COMPANY, "Albion Aerodynamics Ltd",
     "アルビオン航空力学社"),
    ("thames-protective", "GBR", OrganisationKind.COMPANY, "Thames Protective Systems plc",
     "テムズ防護システム社"),
    ("jpn-nsa", "JPN", OrganisationKind.NATIONAL_SECURITY_AUTHORITY,
     "Japan National Security Authority", "日本国家安全保障当局"),
    ("jpn-mod", "JPN", OrganisationKind.MINISTRY, "Ministry of Defense (Japan)", "防衛省"),
    ("jpn-atla", "JPN", OrganisationKind.ACQUISITION_AGENCY,
     "Acquisition, Technology & Logistics Agency", "防衛装備庁"),
    ("jpn-jasdf", "JPN", OrganisationKind.ARMED_SERVICE, "Japan Air Self-Defense Force",
     "航空自衛隊"),
    ("sakura-heavy", "JPN", OrganisationKind.COMPANY, "Sakura Heavy Industries", "桜重工業"),
    ("kanto-tech", "JPN", OrganisationKind.UNIVERSITY, "Kanto Institute of Technology",
     "関東工業大学"),
]

# Facility security clearances: (organisation, site, level, may store up to). The kernel caps
# each company's and university's people at these.
FACILITIES = [
    ("albion-aero", "Filton works", "SECRET", "SECRET"),
    ("thames-protective", "Reading site", "SECRET", None),
    ("sakura-heavy", "Nagoya works", "GOKUHI", "GOKUHI"),
    ("kanto-tech", "Tsukuba campus", "HI", None),
]

COMMUNITIES = [
    ("cbr-research", "Chemical and biological protection research", "化学・生物防護技術共同研究"),
    ("aam-feasibility", "Joint new air-to-air missile feasibility study",
     "共同による新たな空対空ミサイルの実現可能性に係る研究"),
]


@dataclass(frozen=True)
class DemoUser:
    username: str
    first: str
    last: str
    nation: str
    organisation: str
    roles: tuple[str, ...]
    clearance: str | None
    clearance_expired: bool = False
    communities: tuple[str, ...] = ()
    caveats: tuple[str, ...] = ()

    @property
    def totp_seed_hex(self) -> str:
        # A fixed, documented seed per demo user so the README can print working codes.
        return (self.username.encode() * 20)[:20].hex()

    @property
    def totp_seed_base32(self) -> str:
        return base64.b32encode(bytes.fromhex(self.totp_seed_hex)).decode()


USERS = [
    DemoUser("alice", "Alice", "Hart", "GBR", "gbr-nsa", (Role.SECURITY_OFFICER,),
             "TOP-SECRET", communities=("cbr-research", "aam-feasibility"), caveats=("crypto",)),
    DemoUser("ben", "Ben", "Okafor", "GBR", "gbr-des", (Role.PROJECT_OFFICER,), "SECRET",
             communities=("aam-feasibility",)),
    DemoUser("chris", "Chris", "Lyle", "GBR", "albion-aero", (Role.COMPANY_SECURITY_OFFICER,),
             "SECRET", clearance_expired=True, communities=("aam-feasibility",)),
    DemoUser("haruka", "Haruka", "Sato", "JPN", "jpn-nsa", (Role.SECURITY_OFFICER,), "KIMITSU",
             communities=("cbr-research", "aam-feasibility")),
    DemoUser("kenji", "Kenji", "Watanabe", "JPN", "jpn-atla", (Role.PROJECT_OFFICER,), "GOKUHI",
             communities=("aam-feasibility", "cbr-research")),
    DemoUser("yuki", "Yuki", "Tanaka", "JPN", "jpn-jasdf",
             (Role.LOGISTICS_OFFICER, Role.EXERCISE_PLANNER), "HI"),
    DemoUser("admin", "Site", "Administrator", "GBR", "gbr-mod", (Role.ADMINISTRATOR,), None),
]

RECORDS = [
    ("UK–Japan security arrangements: points of contact", "gbr-nsa",
     "GBR/OFFICIAL|rel=GBR,JPN", "Contact list for both national security authorities."),
    ("Muster instructions for classified holdings", "gbr-nsa",
     "GBR/OFFICIAL-SENSITIVE|rel=GBR", "UK-only handling instructions for annual musters."),
    ("CBRN protective mask filter test results", "gbr-des",
     "GBR/SECRET|rel=GBR,JPN|com=cbr-research", "Breakthrough times for filter canister set B."),
    ("Air-to-air missile seeker concept trade study", "gbr-des",
     "GBR/SECRET|rel=GBR,JPN|com=aam-feasibility", "Seeker options compared: RF, dual-mode."),
    ("Missile programme cost model (UK view)", "gbr-mod",
     "GBR/SECRET|rel=GBR|cav=uk-eyes-only", "National cost assumptions; not for release."),
    ("Key management plan for the joint data link", "gbr-mod",
     "GBR/TOP-SECRET|rel=GBR,JPN|cav=crypto", "Keying material distribution for the link."),
    ("Legacy liaison report (2012)", "gbr-mod",
     "GBR/CONFIDENTIAL|rel=GBR,JPN", "A pre-2014 marking kept as applied."),
    ("共同訓練の連絡調整要領", "jpn-mod",
     "JPN/TORIATSUKAI-CHUI|rel=GBR,JPN", "日英共同訓練における連絡調整の手順。"),
    ("防護装備の試験計画", "jpn-atla",
     "JPN/HI|rel=GBR,JPN|com=cbr-research", "化学防護服の透過試験計画。"),
    ("空対空ミサイル推進系の検討", "jpn-atla",
     "JPN/GOKUHI|rel=GBR,JPN|com=aam-feasibility", "ダクテッドロケットの推進系に関する検討結果。"),
    ("防衛力整備の内部検討", "jpn-mod",
     "JPN/GOKUHI|rel=JPN|cav=jpn-eyes-only", "日本限りの内部検討資料。"),
    ("統合防空の作戦計画概要", "jpn-mod",
     "JPN/KIMITSU|rel=GBR,JPN", "作戦計画の概要。"),
]


# Exchange documents: (author, label, title_en, title_ja, summary_en, summary_ja, body).
DOCUMENTS = [
    ("ben", "GBR/SECRET|rel=GBR,JPN|com=aam-feasibility", "Seeker window heating analysis",
     "シーカー窓の空力加熱解析", "Thermal loads on the seeker window at Mach 4.",
     "マッハ4におけるシーカー窓の熱負荷。",
     "Sapphire and spinel windows were compared for joint research on the new missile."),
    ("ben", "GBR/OFFICIAL|rel=GBR,JPN", "Joint steering panel terms of reference",
     "共同運営委員会の付託事項", "", "",
     "The panel meets twice a year; co-chairs from each nation approve the minutes."),
    ("kenji", "JPN/HI|rel=GBR,JPN|com=cbr-research", "Protective suit permeation test plan",
     "防護服透過試験計画", "", "化学防護服の透過試験の計画。",
     "本日、化学防護の共同研究について協議した。試験は三段階で実施する。"),
    ("kenji", "JPN/TORIATSUKAI-CHUI|rel=GBR,JPN", "", "日英共同研究の連絡窓口一覧", "",
     "連絡窓口の一覧。", "共同研究に関する連絡は防衛装備庁国際装備課が窓口となる。"),
]


def _seed_exchange() -> None:
    from entente.exchange import services as exchange

    users = {u.username: u for u in User.objects.filter(username__in=["ben", "kenji", "haruka"])}
    documents = []
    for author, label, title_en, title_ja, summary_en, summary_ja, body in DOCUMENTS:
        documents.append(exchange.create_document(
            actor=users[author], label=LabelSpec.parse(label), title_en=title_en,
            title_ja=title_ja, summary_en=summary_en, summary_ja=summary_ja, body=body))
    sent = exchange.transmit(actor=users["ben"], documents=documents[:2],
                             recipient=Organisation.objects.get(code="jpn-atla"),
                             channel="courier", reference="UKJP/2026/001")
    exchange.acknowledge(actor=users["kenji"], transmission=sent)
    exchange.transmit(actor=users["kenji"], documents=documents[2:3],
                      recipient=Organisation.objects.get(code="gbr-des"),
                      channel="secure_network", reference="JPUK/2026/014")
    # Left submitted, for the UK authority (alice) to decide in the demo.
    exchange.request_downgrade(actor=users["kenji"], document=documents[0],
                               to_marking="OFFICIAL-SENSITIVE",
                               reason="Figures already published at a conference")


def _seed_cooperation(today: dt.date) -> None:
    """The two seed projects, taken through their phases by one past panel meeting; an upcoming
    meeting; participants, cost shares, milestones (one overdue), guides and instructions."""
    from entente.cooperation import services as coop
    from entente.cooperation.models import DecisionKind, PanelRole

    people = {u.username: u for u in User.objects.filter(
        username__in=["alice", "ben", "chris", "haruka", "kenji"])}
    alice, ben, kenji, haruka = (people[n] for n in ("alice", "ben", "kenji", "haruka"))
    org = {o.code: o for o in Organisation.objects.all()}
    label = LabelSpec.parse
    seat_until = _years_from(today, 2)
    coop.appoint_panel_member(actor=alice, user=ben, role=PanelRole.CO_CHAIR,
                              valid_from=_years_from(today, -1), valid_until=seat_until)
    coop.appoint_panel_member(actor=haruka, user=kenji, role=PanelRole.CO_CHAIR,
                              valid_from=_years_from(today, -1), valid_until=seat_until)
    coop.appoint_panel_member(actor=alice, user=alice, role=PanelRole.SECRETARY,
                              valid_from=_years_from(today, -1), valid_until=seat_until)

    aam = coop.propose_project(
        actor=ben, code="aam-feasibility", lead_nation="GBR",
        label=label("GBR/OFFICIAL-SENSITIVE|rel=GBR,JPN"),
        community=Community.objects.get(code="aam-feasibility"),
        name_en="Joint new air-to-air missile: feasibility study",
        name_ja="共同による新たな空対空ミサイルの実現可能性に係る研究",
        description_en="Whether a UK seeker and a Japanese airframe can be joined in one missile.",
        description_ja="英国のシーカー技術と日本のミサイル技術を組み合わせる可能性を研究する。")
    cbr = coop.propose_project(
        actor=kenji, code="cbr-research", lead_nation="JPN",
        label=label("JPN/TORIATSUKAI-CHUI|rel=GBR,JPN"),
        community=Community.objects.get(code="cbr-research"),
        name_en="Chemical and biological protection technology: cooperative research",
        name_ja="化学・生物防護技術に関する共同研究",
        description_en="Decontamination and protective equipment, tested in both countries.",
        description_ja="除染及び防護装備の共同研究。両国で試験を行う。")

    coop.add_guide_entry(actor=ben, project=aam, is_default=True,
                         label=label("GBR/OFFICIAL-SENSITIVE|rel=GBR,JPN"),
                         topic_en="Programme management information", topic_ja="計画管理情報")
    coop.add_guide_entry(actor=ben, project=aam, label=label("GBR/SECRET|rel=GBR,JPN"),
                         topic_en="Seeker performance data", topic_ja="シーカー性能データ")
    coop.add_guide_entry(actor=kenji, project=cbr, is_default=True,
                         label=label("JPN/TORIATSUKAI-CHUI|rel=GBR,JPN"),
                         topic_en="Meeting records", topic_ja="会議記録")
    coop.add_guide_entry(actor=kenji, project=cbr, label=label("JPN/HI|rel=GBR,JPN"),
                         topic_en="Test results", topic_ja="試験結果")
    for project, actor, members in ((aam, ben, [("gbr-des", "sponsor"), ("jpn-atla", "sponsor"),
                                                 ("albion-aero", "prime"),
                                                 ("sakura-heavy", "prime")]),
                                    (cbr, kenji, [("jpn-atla", "sponsor"), ("gbr-des", "sponsor"),
                                                  ("thames-protective", "subcontractor"),
                                                  ("kanto-tech", "research")])):
        for code, role in members:
            coop.add_participant(actor=actor, project=project, organisation=org[code],
                                 role=role)
    coop.set_cost_shares(actor=ben, project=aam, shares={"GBR": "50", "JPN": "50"})
    coop.set_cost_shares(actor=kenji, project=cbr, shares={"JPN": "60", "GBR": "40"})
    coop.set_security_instruction(
        actor=ben, project=aam,
        text_en="Each nation's security authority protects the other's information as its own "
                "equivalent marking. Visits by request for visit through both authorities.",
        text_ja="各国の保全当局は、相手国の情報を同等の自国区分として保護する。訪問は両当局を通じた"
                "訪問申請による。")
    coop.add_milestone(actor=ben, project=aam, title_en="Seeker trade study",
                       title_ja="シーカー比較検討", due_on=today - dt.timedelta(days=5))
    coop.add_milestone(actor=ben, project=aam, title_en="Feasibility report to the panel",
                       title_ja="運営委員会への実現可能性報告", due_on=today + dt.timedelta(days=25))
    done = coop.add_milestone(actor=kenji, project=cbr, title_en="Test plan agreed",
                              title_ja="試験計画の合意", due_on=today - dt.timedelta(days=40))
    coop.complete_milestone(actor=kenji, milestone=done, done_on=today - dt.timedelta(days=42))
    coop.add_milestone(actor=kenji, project=cbr, title_en="Decontamination trials, phase 1",
                       title_ja="除染試験（第1段階）", due_on=today + dt.timedelta(days=60))
    coop.create_project_document(actor=ben, project=aam, title_en="Seeker trade study: interim",
                                 body="Three seeker options compared; two retained.")

    past = coop.schedule_meeting(actor=alice, held_on=today - dt.timedelta(days=45),
                                 place="London (Main Building)",
                                 label=label("GBR/OFFICIAL|rel=GBR,JPN"))
    coop.record_attendance(actor=alice, meeting=past, attendees=[ben, kenji, alice])
    for project, moves in ((cbr, [DecisionKind.APPROVE_PROJECT, DecisionKind.APPROVE_PHASE,
                                  DecisionKind.APPROVE_PHASE]),
                           (aam, [DecisionKind.APPROVE_PROJECT, DecisionKind.APPROVE_PHASE])):
        item = coop.add_agenda_item(actor=alice, meeting=past, project=project)
        for kind in moves:
            coop.record_decision(actor=ben, item=item, kind=kind, text="Agreed by both nations.")
    coop.add_action(actor=alice, meeting=past, project=aam, owner=ben,
                    title="Circulate the feasibility study plan", due_on=today - dt.timedelta(days=10))
    coop.add_action(actor=alice, meeting=past, project=cbr, owner=kenji,
                    title="Confirm the test site for phase 1", due_on=today + dt.timedelta(days=20))
    minutes = coop.write_minutes(
        actor=alice, meeting=past,
        text_en="The panel approved both projects and took them to their current phases.",
        text_ja="運営委員会は両計画を承認し、現在の段階に進めた。")
    coop.approve_minutes(actor=ben, minutes=minutes)
    coop.approve_minutes(actor=kenji, minutes=minutes)

    upcoming = coop.schedule_meeting(actor=alice, held_on=today + dt.timedelta(days=30),
                                     place="Tokyo (Ichigaya)", by_video=True,
                                     label=label("GBR/OFFICIAL|rel=GBR,JPN"))
    coop.add_agenda_item(actor=alice, meeting=upcoming, project=aam,
                         title_en="Feasibility study: results and next phase",
                         title_ja="実現可能性研究：結果と次段階")
    coop.add_agenda_item(actor=alice, meeting=upcoming, title_en="Any other business",
                         title_ja="その他")


def _seed_visits(today: dt.date) -> None:
    """Requests for visit in each state: approved, assured (awaiting the host), submitted
    (awaiting assurance), refused and withdrawn."""
    from entente.cooperation.models import Project
    from entente.industry import services as industry

    people = {u.username: u for u in User.objects.filter(
        username__in=["alice", "ben", "haruka", "kenji", "yuki"])}
    org = {o.code: o for o in Organisation.objects.all()}
    uk, jp = LabelSpec.parse("GBR/OFFICIAL-SENSITIVE|rel=GBR,JPN"), LabelSpec.parse(
        "JPN/TORIATSUKAI-CHUI|rel=GBR,JPN")
    day = dt.timedelta(days=1)
    aam = Project.objects.get(code="aam-feasibility")
    approved = industry.request_visit(
        people["ben"], host=org["sakura-heavy"], site="Nagoya works", kind="one_time",
        first_day=today + 10 * day, last_day=today + 12 * day, level="HI", label=uk,
        project=aam, purpose="Seeker integration working meeting")
    industry.assure_visit(people["alice"], approved)
    industry.approve_visit(people["haruka"], approved)
    assured = industry.request_visit(
        people["kenji"], host=org["albion-aero"], site="Filton works", kind="recurring",
        first_day=today + 5 * day, last_day=today + 200 * day, level="SECRET", label=jp,
        project=aam, purpose="Monthly design reviews of the feasibility study")
    industry.assure_visit(people["haruka"], assured)
    industry.request_visit(
        people["yuki"], host=org["thames-protective"], site="Reading site", kind="one_time",
        first_day=today + 20 * day, last_day=today + 21 * day, level="OFFICIAL-SENSITIVE",
        label=jp, purpose="Protective equipment familiarisation")
    refused = industry.request_visit(
        people["ben"], host=org["kanto-tech"], site="Tsukuba campus", kind="emergency",
        first_day=today + day, last_day=today + 2 * day, level="HI", label=uk,
        purpose="Trial anomaly investigation", emergency_reason="Test rig failure")
    industry.assure_visit(people["alice"], refused)
    industry.refuse_visit(people["haruka"], refused, reason="Campus closed for the trials")
    withdrawn = industry.request_visit(
        people["kenji"], host=org["gbr-des"], site="Abbey Wood", kind="one_time",
        first_day=today + 15 * day, last_day=today + 15 * day, level="OFFICIAL", label=jp,
        purpose="Contract familiarisation")
    industry.withdraw_visit(people["kenji"], withdrawn)


def _years_from(day: dt.date, years: int) -> dt.date:
    """The same day ``years`` later (or earlier); 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _ensure_user(spec: DemoUser, today: dt.date) -> None:
    org = Organisation.objects.get(code=spec.organisation)
    user, created = User.objects.get_or_create(
        username=spec.username,
        defaults={"first_name": spec.first, "last_name": spec.last,
                  "nationality_id": spec.nation, "organisation": org,
                  "is_staff": Role.ADMINISTRATOR in spec.roles,
                  "is_superuser": Role.ADMINISTRATOR in spec.roles})
    if not created:
        return
    user.set_password(DEMO_PASSWORD)
    user.save()
    TOTPDevice.objects.create(user=user, name="demo", key=spec.totp_seed_hex, confirmed=True)
    authority = Organisation.objects.get(code=f"{spec.nation.lower()}-nsa")
    for role in spec.roles:
        RoleGrant.objects.create(user=user, role=role, granted_by=authority,
                                 valid_from=_years_from(today, -1))
    if spec.clearance:
        until = today - dt.timedelta(days=30) if spec.clearance_expired else today.replace(
            year=today.year + 5)
        Clearance.objects.create(
            user=user, level=Classification.objects.get(nation_id=spec.nation,
                                                        code=spec.clearance),
            granted_by=authority, valid_from=_years_from(today, -5),
            valid_until=until)
    for code in spec.communities:
        Membership.objects.create(user=user, community=Community.objects.get(code=code),
                                  granted_by=authority, valid_from=today,
                                  valid_until=_years_from(today, 2))
    for code in spec.caveats:
        CaveatGrant.objects.create(user=user, caveat=Caveat.objects.get(code=code),
                                   granted_by=authority, valid_from=today,
                                   valid_until=_years_from(today, 1))


@transaction.atomic
def seed() -> bool:
    """Create the demo world once; returns False if it was already there."""
    if User.objects.filter(username="alice").exists():
        return False
    today = timezone.localdate()
    with audit.source("demo"):
        for code, nation, kind, en, ja in ORGANISATIONS:
            Organisation.objects.get_or_create(
                code=code, defaults={"nation_id": nation, "kind": kind, "name_en": en,
                                     "name_ja": ja})
        for code, site, level, storage in FACILITIES:
            org = Organisation.objects.get(code=code)
            marking = Classification.objects.filter(nation_id=org.nation_id).get
            FacilityClearance.objects.create(
                organisation=org, site=site, level=marking(code=level),
                storage_level=marking(code=storage) if storage else None,
                granted_by=Organisation.objects.get(code=f"{org.nation_id.lower()}-nsa"),
                valid_from=_years_from(today, -2), valid_until=_years_from(today, 3))
        for code, en, ja in COMMUNITIES:
            Community.objects.get_or_create(code=code, defaults={"name_en": en, "name_ja": ja})
        for spec in USERS:
            _ensure_user(spec, today)
        alice = User.objects.get(username="alice")
        for title, owner, label, body in RECORDS:
            # The 2012 report keeps its retired marking: it was applied before April 2014.
            label_spec = LabelSpec.parse(label)
            legacy = dt.date(2012, 6, 1) if label_spec.classification == "CONFIDENTIAL" else None
            create_sample_record(actor=alice, owner=Organisation.objects.get(code=owner),
                                 title=title, body=body, label=label_spec,
                                 label_applied_on=legacy)
        _seed_exchange()
        _seed_cooperation(today)
        _seed_visits(today)
    return True


def current_code(username: str) -> str:
    spec = next(u for u in USERS if u.username == username)
    totp = TOTP(bytes.fromhex(spec.totp_seed_hex))
    return f"{totp.token():06d}"
