"""Demo data: both nations' authorities, ministries, companies, people and a dozen records.

Every password and TOTP seed here is public (README); never load this into a real node.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

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
    # Kenji is also an exercise planner: the one Japanese planner cleared to read (and so to
    # approve) the UK's SECRET airlift exercise, which Yuki (HI) may not see.
    DemoUser("kenji", "Kenji", "Watanabe", "JPN", "jpn-atla",
             (Role.PROJECT_OFFICER, Role.LOGISTICS_OFFICER, Role.EXERCISE_PLANNER), "GOKUHI",
             communities=("aam-feasibility", "cbr-research")),
    DemoUser("yuki", "Yuki", "Tanaka", "JPN", "jpn-jasdf",
             (Role.LOGISTICS_OFFICER, Role.EXERCISE_PLANNER), "HI"),
    DemoUser("dan", "Dan", "Mercer", "GBR", "gbr-raf",
             (Role.LOGISTICS_OFFICER, Role.EXERCISE_PLANNER), "SECRET"),
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


# --------------------------------------------------------------------------- ACSA logistics

EXERCISE = "Vigilant Isles 2026"
EXERCISE_CODE = "vigilant-isles-2026"
WINTER = "Winter phase"
RELIEF = "Typhoon relief, Sakishima Islands"
UK_ORDER, JP_ORDER = "GBR/OFFICIAL|rel=GBR,JPN", "JPN/TORIATSUKAI-CHUI|rel=GBR,JPN"
CLASSIFIED_ORDER = "GBR/SECRET|rel=GBR,JPN"


@dataclass(frozen=True)
class DemoOrder:
    """An ACSA order and the steps that take it to its state: (state reached, days before
    today). ``requester`` and ``supplier`` are the two sides' logistics officers."""

    key: str
    requester: str
    supplier: str
    label: str
    activity: str
    exercise: str  # EXERCISE, or "" for the relief operation (named in the description)
    place: str
    method: str
    # (category, description, quantity, unit, unit price, currency)
    lines: tuple[tuple[str, str, str, str, str, str], ...]
    steps: tuple[tuple[str, int], ...]
    description: str = ""
    reason: str = ""  # why it was refused or cancelled; a payment's reference
    wanted_in: int | None = None  # days from today


ORDERS = [
    DemoOrder("closed", "dan", "yuki", UK_ORDER, "bilateral-training", EXERCISE,
              "JASDF Misawa Air Base", "reimbursement",
              (("food", "Field rations, including halal and vegetarian", "1800", "meals", "1150",
                "JPY"),
               ("water", "Bottled drinking water, 2 litres", "3000", "bottles", "98", "JPY")),
              (("drafted", 64), ("requested", 63), ("accepted", 62), ("provided", 58),
               ("received", 57), ("settled", 30), ("closed", 25)),
              reason="JPN-MOD remittance 2026/0931"),
    DemoOrder("replacement", "dan", "yuki", UK_ORDER, "bilateral-training", EXERCISE,
              "JASDF Misawa Air Base", "replacement",
              (("pol", "F-34 aviation fuel, into-plane", "120000", "litres", "96.5", "JPY"),),
              (("drafted", 63), ("requested", 63), ("accepted", 62), ("provided", 55),
               ("received", 55), ("settled", 12)),
              reason="120,000 litres of F-34 returned into the Misawa fuel farm"),
    DemoOrder("equal-uk", "dan", "yuki", UK_ORDER, "bilateral-training", EXERCISE,
              "JASDF Misawa Air Base", "equal-value",
              (("base-support", "Ground handling and hangarage, four Typhoon FGR4", "10", "days",
                "185000", "JPY"),),
              (("drafted", 61), ("requested", 60), ("accepted", 60), ("provided", 51),
               ("received", 50))),
    DemoOrder("secret", "dan", "kenji", CLASSIFIED_ORDER, "bilateral-training", EXERCISE,
              "JASDF Misawa Air Base", "reimbursement",
              (("communications", "Secure voice and data circuits for the combined air "
                "operations cell", "30", "days", "210000", "JPY"),),
              (("drafted", 58), ("requested", 57), ("accepted", 56), ("provided", 4))),
    DemoOrder("refused", "dan", "yuki", UK_ORDER, "bilateral-training", EXERCISE,
              "JASDF Misawa Air Base", "reimbursement",
              (("ammunition", "27 mm practice rounds", "2000", "rounds", "1450", "JPY"),),
              (("drafted", 58), ("requested", 57), ("refused", 54)),
              reason="The JASDF holds no 27 mm rounds (the Typhoon's calibre)."),
    DemoOrder("cancelled", "yuki", "dan", JP_ORDER, "bilateral-training", EXERCISE,
              "RAF Brize Norton", "reimbursement",
              (("repair", "Main wheel tyres, C-2 transport aircraft", "2", "tyres", "1850",
                "GBP"),
               ("repair", "Tyre change, technician labour", "6", "hours", "95", "GBP")),
              (("drafted", 58), ("requested", 57), ("accepted", 56), ("cancelled", 55)),
              reason="Repaired at Misawa before the transit flight; no longer needed."),
    DemoOrder("equal-jp", "yuki", "dan", JP_ORDER, "bilateral-training", EXERCISE,
              "RAF Lossiemouth", "equal-value",
              # The price is set to the value of "equal-uk" on the day they are exchanged.
              (("facilities", "Air combat simulator sessions, four crews", "1", "package", "0",
                "GBP"),),
              (("drafted", 52), ("requested", 52), ("accepted", 51), ("provided", 46),
               ("received", 45))),
    DemoOrder("received", "yuki", "dan", JP_ORDER, "bilateral-training", EXERCISE,
              "RAF Lossiemouth", "reimbursement",
              (("medical", "Aviation medicine examinations", "12", "examinations", "340", "GBP"),
               ("billeting", "Transit accommodation, single rooms", "96", "nights", "55",
                "GBP")),
              (("drafted", 50), ("requested", 49), ("accepted", 48), ("provided", 41),
               ("received", 40))),
    DemoOrder("accepted", "yuki", "dan", JP_ORDER, "bilateral-training",
              EXERCISE, "RAF Lossiemouth", "reimbursement",
              (("clothing", "Cold-weather clothing sets", "40", "sets", "265", "GBP"),),
              (("drafted", 6), ("requested", 5), ("accepted", 2)), description=WINTER,
              wanted_in=20),
    DemoOrder("requested", "dan", "yuki", UK_ORDER, "bilateral-training",
              EXERCISE, "JASDF Misawa Air Base", "reimbursement",
              (("billeting", "Transit accommodation, Misawa", "64", "nights", "6800", "JPY"),
               ("transportation", "Coach between Misawa and Hachinohe station", "8", "trips",
                "42000", "JPY")),
              (("drafted", 3), ("requested", 1)), description=WINTER, wanted_in=30),
    DemoOrder("drafted", "yuki", "dan", JP_ORDER, "bilateral-training",
              EXERCISE, "RAF Lossiemouth", "replacement",
              (("storage", "Storage of ground support equipment", "3", "months", "1200",
                "GBP"),),
              (("drafted", 0),), description=WINTER, wanted_in=45),
    DemoOrder("requested-long-ago", "yuki", "dan", JP_ORDER, "bilateral-training", EXERCISE,
              "RAF Brize Norton", "reimbursement",
              (("ports", "Air terminal handling, C-2 transit", "4", "movements", "780", "GBP"),),
              (("drafted", 76), ("requested", 75))),
    DemoOrder("overdue", "dan", "yuki", UK_ORDER, "disaster-response", "",
              "Ishigaki port", "reimbursement",
              (("water", "Potable water for HMS Spey", "400", "cubic metres", "2100", "JPY"),
               ("pol", "Marine gas oil", "180000", "litres", "118", "JPY"),
               ("ports", "Berth and pilotage", "6", "days", "95000", "JPY")),
              (("drafted", 134), ("requested", 134), ("accepted", 133), ("provided", 129),
               ("received", 128)),
              description=f"{RELIEF}: HMS Spey supporting the Self-Defense Forces"),
    DemoOrder("relief-replacement", "dan", "yuki", UK_ORDER, "disaster-response", "",
              "Ishigaki port", "replacement",
              (("food", "Field rations for the ship's relief parties", "2400", "meals", "1150",
                "JPY"),),
              (("drafted", 133), ("requested", 133), ("accepted", 132), ("provided", 128),
               ("received", 127)),
              description=f"{RELIEF}: HMS Spey supporting the Self-Defense Forces"),
    DemoOrder("reimbursed", "kenji", "dan", JP_ORDER, "disaster-response", "",
              "Miyako and Ishigaki islands", "reimbursement",
              (("transportation", "Helicopter airlift of relief supplies (Wildcat HMA2)", "18",
                "flying hours", "4650", "GBP"),),
              (("drafted", 132), ("requested", 132), ("accepted", 131), ("provided", 127),
               ("received", 126), ("settled", 70)),
              description=f"{RELIEF}: airlift from HMS Spey to cut-off villages",
              reason="UK MOD receipt of payment 2026/0588"),
]

# The closed order's source documents: (kind, uploaded by, label, title_en, title_ja, body).
SOURCE_DOCUMENTS = [
    ("receipt", "dan", UK_ORDER, "Signed receipt: rations and water, Misawa",
     "受領書：糧食及び飲料水（三沢）", "Received in full and in good condition by No. 2 Squadron."),
    ("delivery-note", "yuki", JP_ORDER, "Delivery note: rations and water, Misawa",
     "納品書：糧食及び飲料水（三沢）", "糧食1,800食及び飲料水3,000本を三沢基地にて引き渡した。"),
    ("invoice", "yuki", JP_ORDER, "Invoice: rations and water, Misawa",
     "請求書：糧食及び飲料水（三沢）", "請求額：2,364,000円（日英物品役務相互提供協定に基づく）。"),
]


def _rate(day: dt.date) -> Decimal:
    """An illustrative GBP/JPY rate for the day (between about 186 and 198), the same each run."""
    n = day.toordinal()
    value = 192 + 4.5 * math.sin(n / 23) + 1.2 * math.sin(n / 3.7)
    return Decimal(f"{value:.2f}")


def _seed_rates(today: dt.date, officers: dict[str, User]) -> None:
    """Weekly rates for the last five months, daily (working days) for the last month."""
    from entente.logistics import services as logistics

    days = {today - dt.timedelta(days=n) for n in range(0, 31) if
            (today - dt.timedelta(days=n)).weekday() < 5}
    days |= {today - dt.timedelta(days=n) for n in range(31, 160, 7)}
    for day in sorted(days):
        recorder = officers["dan"] if day.toordinal() % 2 else officers["yuki"]
        logistics.record_rate(recorder, day=day, base="GBP", quote="JPY", rate=_rate(day),
                              source="Illustrative demo rate (not a market rate)")



def _exercise_for_orders(today: dt.date, officers: dict[str, User]) -> Any:
    """The exercise the orders are raised under: proposed by the JASDF planner, approved by the
    RAF's, executing since its first day (its last is still ahead: the winter phase)."""
    from entente.exercises import services as exercises
    from entente.exercises.models import ExerciseKind, ExerciseState

    proposed_on, starts_on = today - dt.timedelta(days=120), today - dt.timedelta(days=66)
    yuki, dan = officers["yuki"], officers["dan"]
    exercise = exercises.propose_exercise(
        yuki, code=EXERCISE_CODE, label=LabelSpec.parse(JP_ORDER), kind=ExerciseKind.OTHER,
        lead_nation="JPN", starts_on=starts_on, ends_on=today + dt.timedelta(days=40),
        name_en=EXERCISE, name_ja="ヴィジラント・アイルズ2026",
        objectives_en="Air defence training of RAF and JASDF squadrons in Japan, then in the UK.",
        objectives_ja="英空軍及び航空自衛隊の防空戦闘訓練（日本、次いで英国）。",
        locations=[("JASDF Misawa Air Base", "JPN"), ("RAF Lossiemouth", "GBR")],
        on=proposed_on)
    exercises.advance(dan, exercise, ExerciseState.APPROVED, on=proposed_on + dt.timedelta(7))
    exercises.advance(yuki, exercise, ExerciseState.PLANNING, on=proposed_on + dt.timedelta(8))
    exercises.advance(yuki, exercise, ExerciseState.EXECUTING, on=starts_on)
    return exercise

def _seed_logistics(today: dt.date) -> dict[str, Any]:
    """ACSA orders under a joint exercise and a disaster relief operation, in every state of
    their life, walked there by the services (so every step is checked and audited), back-dated
    with ``on``. Returns the orders by key."""
    from entente.logistics import money
    from entente.logistics import services as logistics
    from entente.logistics.services import LineSpec

    officers = {u.username: u for u in User.objects.filter(username__in=["dan", "yuki", "kenji"])}
    orders: dict[str, Any] = {}
    _seed_rates(today, officers)

    def ago(days: int) -> dt.date:
        return today - dt.timedelta(days=days)

    exchange_day = ago(8)
    exercise = _exercise_for_orders(today, officers)
    for spec in sorted(ORDERS, key=lambda o: -o.steps[0][1]):
        requester, supplier = officers[spec.requester], officers[spec.supplier]
        lines = [LineSpec(*line) for line in spec.lines]
        if spec.key == "equal-jp":  # of the same value as "equal-uk" on the exchange day
            [uk_side] = [o for o in ORDERS if o.key == "equal-uk"]
            jpy = sum(Decimal(q) * Decimal(p) for _c, _d, q, _u, p, _cur in uk_side.lines)
            rate = money.rate_on("GBP", "JPY", exchange_day)
            lines = [LineSpec(c, d, q, u, money.rounded(jpy / rate, 2), cur)
                     for c, d, q, u, _p, cur in spec.lines]
        drafted_on = ago(spec.steps[0][1])
        order = logistics.draft_order(
            requester, supplying_nation=str(supplier.nationality_id),
            label=LabelSpec.parse(spec.label), activity=spec.activity,
            activity_description=spec.description,
            exercise=exercise if spec.exercise else "",
            settlement_method=spec.method, delivery_place=spec.place,
            wanted_by=today + dt.timedelta(days=spec.wanted_in) if spec.wanted_in else None,
            lines=lines, on=drafted_on)
        for state, days in spec.steps[1:]:
            on = ago(days)
            if state == "requested":
                order = logistics.request_order(requester, order, on)
            elif state == "accepted":
                order = logistics.accept_order(supplier, order, on)
            elif state == "refused":
                order = logistics.refuse_order(supplier, order, spec.reason, on)
            elif state == "cancelled":
                order = logistics.cancel_order(requester, order, spec.reason, on)
            elif state == "provided":
                order = logistics.record_provision(supplier, order, on)
            elif state == "received":
                order = logistics.sign_receipt(requester, order, on)
            elif state == "settled" and spec.method == "reimbursement":
                order = logistics.record_payment(supplier, order, spec.reason, on)
            elif state == "settled" and spec.method == "replacement":
                order = logistics.record_return(supplier, order, on, note=spec.reason)
            elif state == "closed":
                for kind, by, label, title_en, title_ja, body in SOURCE_DOCUMENTS:
                    logistics.upload_document(officers[by], order, kind,
                                              label=LabelSpec.parse(label), title_en=title_en,
                                              title_ja=title_ja, body=body)
                order = logistics.close_order(requester, order, on)
            else:
                raise AssertionError(f"demo order {spec.key}: no step to {state}")
        orders[spec.key] = order
    # Exchange of equal value: the two received orders settle each other.
    logistics.exchange_equal_value(officers["dan"], orders["equal-uk"], orders["equal-jp"],
                                   exchange_day)
    # Both sides are told about the order whose settlement is overdue (as the daily job does).
    logistics.flag_overdue(today)
    return orders


# --------------------------------------------------------------------------- exercises

UK_OFFICIAL, UK_SENSITIVE = "GBR/OFFICIAL|rel=GBR,JPN", "GBR/OFFICIAL-SENSITIVE|rel=GBR,JPN"
JP_SENSITIVE = "JPN/TORIATSUKAI-CHUI|rel=GBR,JPN"  # protected as OFFICIAL-SENSITIVE in the UK
CLASSIFIED_EXERCISE = "GBR/SECRET|rel=GBR,JPN"


@dataclass(frozen=True)
class DemoExercise:
    """A joint exercise: proposed by ``planner`` ``proposed`` days before today, running from
    ``starts`` to ``ends`` days from today (negative: in the past). Its name and code end with
    the year it starts, so they stay true whatever today is."""

    key: str
    code: str
    name_en: str
    name_ja: str
    kind: str
    planner: str
    lead: str
    label: str
    proposed: int
    starts: int
    ends: int
    objectives_en: str
    objectives_ja: str
    locations: tuple[tuple[str, str | None], ...]
    # (nation, unit, personnel, equipment)
    units: tuple[tuple[str, str, int, str], ...]


EXERCISES = [
    DemoExercise(
        "hadr", "resilient-islands", "Resilient Islands", "レジリエント・アイランズ", "hadr",
        "yuki", "JPN", JP_SENSITIVE, 300, -160, -151,
        "Disaster relief after a simulated Nankai Trough earthquake and tsunami: airlift of "
        "relief supplies, medical evacuation and a combined coordination centre with the "
        "prefecture.",
        "南海トラフ地震・津波を想定した災害救援：救援物資の空輸、患者後送及び県との共同調整所の運営。",
        (("Kōchi Ryōma Airport", "JPN"), ("JGSDF Camp Kōchi", "JPN")),
        (("JPN", "JGSDF 14th Brigade", 450, "Engineer and medical companies, 4 × UH-1J"),
         ("JPN", "JASDF 3rd Tactical Airlift Group", 60, "2 × C-2"),
         ("GBR", "HMS Spey", 55, "River-class patrol vessel, Wildcat HMA2, relief stores"),
         ("GBR", "40 Commando Royal Marines (detachment)", 30, "Boats, field medical kit"))),
    DemoExercise(
        "cancelled", "pacific-lifeline", "Pacific Lifeline", "パシフィック・ライフライン", "hadr",
        "dan", "GBR", UK_OFFICIAL, 230, -100, -93,
        "Humanitarian assistance to remote islands after a typhoon: ship-to-shore delivery of "
        "aid and casualty evacuation by helicopter.",
        "台風被災後の離島への人道支援：艦船から陸岸への救援物資輸送及びヘリコプターによる患者後送。",
        (("Amami Ōshima", "JPN"), ("JMSDF Sasebo", "JPN")),
        (("GBR", "HMS Spey", 55, "Wildcat HMA2, humanitarian aid stores"),
         ("JPN", "JS Ōsumi", 135, "2 × LCAC landing craft"),
         ("JPN", "JGSDF Amphibious Rapid Deployment Brigade", 60, "AAV7 amphibious vehicles"))),
    DemoExercise(
        "neo", "safe-harbour", "Safe Harbour", "セーフ・ハーバー", "neo",
        "dan", "GBR", UK_SENSITIVE, 80, 75, 84,
        "Evacuation of British and Japanese nationals from a third country: an evacuation "
        "handling centre, processing of evacuees and their airlift by A400M and C-2.",
        "第三国からの英国人及び日本人の退避：退避者受入施設の運営、退避者の処理及びA400M・C-2による空輸。",
        (("RAF Akrotiri (Sovereign Base Areas, Cyprus)", "GBR"), ("RAF Brize Norton", "GBR")),
        (("GBR", "No. LXX Squadron, RAF", 70, "2 × A400M Atlas"),
         ("GBR", "2nd Battalion, The Parachute Regiment", 140,
          "Evacuation handling centre, protection party"),
         ("JPN", "JASDF 2nd Tactical Airlift Group", 55, "1 × C-2"),
         ("JPN", "JGSDF 1st Airborne Brigade", 90, "Protection party, light vehicles"))),
    DemoExercise(
        "peacekeeping", "peace-bridge", "Peace Bridge", "ピース・ブリッジ", "peacekeeping",
        "yuki", "JPN", JP_SENSITIVE, 30, 150, 163,
        "Training of engineer and medical contingents for United Nations peacekeeping: field "
        "engineering, camp construction, protection of civilians and casualty care.",
        "国連平和維持活動に派遣される施設部隊及び衛生部隊の訓練：野外施設、宿営地の建設、文民保護及び救護。",
        (("JGSDF Camp Fuji", "JPN"),),
        (("JPN", "JGSDF 4th Engineer Group", 120, "Excavators, bulldozers, water purification"),
         ("JPN", "JGSDF Medical Unit, Eastern Army", 40, "Field surgical set"),
         ("GBR", "36 Engineer Regiment, Royal Engineers", 45, "Field engineering instructors"),
         ("GBR", "22 Field Hospital", 20, "Role 2 medical instructors"))),
    DemoExercise(
        "secret", "silent-crane", "Silent Crane", "サイレント・クレーン", "airlift",
        "dan", "GBR", CLASSIFIED_EXERCISE, 3, 120, 131,
        "Tactical airlift into a contested landing zone: night low-level routes, defensive "
        "aids and assault landings by A400M and C-2 crews.",
        "脅威下の着陸地域への戦術空輸：A400M及びC-2搭乗員による夜間低高度飛行、自己防御装置の運用及び強行着陸。",
        (("RAF Brize Norton", "GBR"), ("Spadeadam Electronic Warfare Tactics Range", "GBR")),
        (("GBR", "No. 30 Squadron, RAF", 65, "2 × A400M Atlas with defensive aids suite"),
         ("JPN", "JASDF 3rd Tactical Airlift Group", 50, "2 × C-2"))),
]

LESSONS_LEARNED = (
    "1. The combined coordination centre worked best with liaison officers of both forces at "
    "the prefecture's disaster headquarters from the first day.\n"
    "2. Different casualty evacuation forms slowed the hand-over of patients: a bilingual "
    "common form is proposed.\n"
    "3. ACSA orders for fuel and rations were agreed in hours, not days, because the categories "
    "had been settled at the main planning conference.\n\n"
    "1. 共同調整所は、初日から両国部隊の連絡幹部を県の災害対策本部に置いたときに最もよく機能した。\n"
    "2. 患者後送の様式の違いが患者の引継ぎを遅らせた。日英両語の共通様式を提案する。\n"
    "3. 燃料及び糧食のACSA請求は、区分を主計画会議で合意していたため、数日ではなく数時間で合意された。")

CANCELLATION = ("HMS Spey and her Wildcat were committed to the typhoon relief operation in "
                "the Sakishima Islands. The training objectives move to next year's programme.")


def _seed_exercises(today: dt.date) -> dict[str, Any]:
    """Exercises of every type and in every state besides Vigilant Isles (other, executing),
    their planning conferences, a request for visit to attend one, and staff and academic
    exchanges, made by the services (checked and audited), back-dated with ``on``. A request
    for visit cannot start in the past, so the visits and exchanges all start after today.
    Returns the exercises and exchanges by key."""
    from entente.exercises import services as exercises
    from entente.exercises.models import ExchangeKind, ExerciseState, MilestoneKind
    from entente.industry import services as industry

    people = {u.username: u for u in User.objects.filter(
        username__in=["alice", "ben", "dan", "haruka", "kenji", "yuki"])}
    org = {o.code: o for o in Organisation.objects.all()}

    def day(n: int) -> dt.date:
        return today + dt.timedelta(days=n)

    made: dict[str, Any] = {}
    for spec in EXERCISES:
        year = day(spec.starts).year
        made[spec.key] = exercises.propose_exercise(
            people[spec.planner], code=f"{spec.code}-{year}", label=LabelSpec.parse(spec.label),
            kind=spec.kind, lead_nation=spec.lead, starts_on=day(spec.starts),
            ends_on=day(spec.ends), name_en=f"{spec.name_en} {year}",
            name_ja=f"{spec.name_ja}{year}", objectives_en=spec.objectives_en,
            objectives_ja=spec.objectives_ja, locations=spec.locations,
            units=[exercises.UnitSpec(*unit) for unit in spec.units], on=day(-spec.proposed))

    def approve_and_plan(key: str, approver: str, approved: int, planning: int) -> None:
        exercise = made[key]
        exercises.advance(people[approver], exercise, ExerciseState.APPROVED, on=day(approved),
                          note="Agreed by both nations' planning staffs.")
        if planning:
            exercises.advance(people[exercise.proposed_by.username], exercise,
                              ExerciseState.PLANNING, on=day(planning))

    def conference(key: str, kind: str, due: int, place: str, owner: str,
                   done: bool = False, title: str = "") -> Any:
        exercise = made[key]
        milestone = exercises.add_milestone(
            people[exercise.proposed_by.username], exercise, kind=kind, due_on=day(due),
            owner=people[owner], title=title, place=place)
        if done:
            exercises.complete_milestone(people[owner], milestone, on=day(due))
        return milestone

    # Completed (JPN-led): all three planning conferences held, then the lessons learned.
    hadr = made["hadr"]
    approve_and_plan("hadr", "dan", -290, -288)
    conference("hadr", MilestoneKind.INITIAL, -250, "JGSDF Camp Kōchi", "yuki", done=True)
    conference("hadr", MilestoneKind.MAIN, -205, "Ministry of Defence, London", "dan", done=True)
    conference("hadr", MilestoneKind.FINAL, -175, "JGSDF Camp Kōchi", "yuki", done=True)
    exercises.advance(people["yuki"], hadr, ExerciseState.EXECUTING, on=hadr.starts_on)
    exercises.advance(people["yuki"], hadr, ExerciseState.COMPLETED, on=day(-140),
                      lessons_learned=LESSONS_LEARNED)

    # Cancelled (GBR-led): its ship went to a real typhoon instead; the main conference was
    # never held (a cancelled exercise's milestones are not overdue).
    approve_and_plan("cancelled", "yuki", -224, -222)
    conference("cancelled", MilestoneKind.INITIAL, -180, "JMSDF Sasebo", "yuki", done=True)
    conference("cancelled", MilestoneKind.MAIN, -120, "HMS Spey, Yokosuka", "dan")
    exercises.cancel_exercise(people["dan"], made["cancelled"], CANCELLATION, on=day(-133))

    # Planning (GBR-led): the initial conference held, a return overdue, the main and final
    # conferences ahead; a JASDF planner asks to attend the main one (assured by Japan's
    # security authority, waiting for the UK's).
    approve_and_plan("neo", "yuki", -74, -72)
    conference("neo", MilestoneKind.INITIAL, -45, "JASDF Iruma Air Base", "yuki", done=True)
    conference("neo", MilestoneKind.OTHER, -7, "", "yuki",
               title="Force lists and C-2 diplomatic clearances returned")
    main = conference("neo", MilestoneKind.MAIN, 21, "RAF Brize Norton", "dan")
    conference("neo", MilestoneKind.FINAL, 56, "JASDF Iruma Air Base", "yuki")
    made["conference-visit"] = exercises.request_conference_visit(
        people["yuki"], main, host=org["gbr-raf"], site="RAF Brize Norton",
        level="OFFICIAL-SENSITIVE", label=LabelSpec.parse(JP_SENSITIVE), last_day=day(23),
        purpose=f"Main planning conference of exercise {made['neo'].name_en}")
    industry.assure_visit(people["haruka"], made["conference-visit"])

    # Approved (JPN-led), planning not yet started; the SECRET one is only proposed, waiting
    # for Japan's approval (Kenji's: Yuki may not read it).
    approve_and_plan("peacekeeping", "dan", -20, 0)

    # Exchanges: a JASDF officer with the RAF's planners for the evacuation exercise (approved:
    # assured by Japan's authority, approved by the UK's), an ATLA engineer with DE&S (assured,
    # waiting for the UK), a DE&S scientist at a Japanese university (submitted).
    neo = made["neo"]
    made["exchange-approved"] = exercises.request_exchange(
        people["yuki"], kind=ExchangeKind.STAFF, host=org["gbr-raf"],
        site="Air Command, RAF High Wycombe", first_day=neo.starts_on - dt.timedelta(days=14),
        last_day=neo.starts_on + dt.timedelta(days=168), level="OFFICIAL-SENSITIVE",
        label=LabelSpec.parse(JP_SENSITIVE), exercise=neo,
        purpose=f"JASDF air mobility staff officer on exchange with the RAF: liaison for "
                f"exercise {neo.name_en}")
    industry.assure_visit(people["haruka"], made["exchange-approved"].visit)
    industry.approve_visit(people["alice"], made["exchange-approved"].visit)
    made["exchange-assured"] = exercises.request_exchange(
        people["kenji"], kind=ExchangeKind.STAFF, host=org["gbr-des"], site="Abbey Wood",
        first_day=day(90), last_day=day(90 + 364), level="SECRET",
        label=LabelSpec.parse(JP_SENSITIVE),
        purpose="ATLA engineer on exchange with the DE&S Complex Weapons team")
    industry.assure_visit(people["haruka"], made["exchange-assured"].visit)
    made["exchange-submitted"] = exercises.request_exchange(
        people["ben"], kind=ExchangeKind.ACADEMIC, host=org["kanto-tech"],
        site="Tsukuba campus", first_day=day(45), last_day=day(45 + 300), level="HI",
        label=LabelSpec.parse(UK_SENSITIVE),
        purpose="Visiting researcher, radio-frequency materials laboratory (seeker radomes)")
    return made


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
        until = (today - dt.timedelta(days=30) if spec.clearance_expired
                 else _years_from(today, 5))
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


def _seed_organisations(today: dt.date, nations: set[str]) -> None:
    """These nations' organisations and their facility clearances; the two communities."""
    for code, nation, kind, en, ja in ORGANISATIONS:
        if nation in nations:
            Organisation.objects.get_or_create(
                code=code, defaults={"nation_id": nation, "kind": kind, "name_en": en,
                                     "name_ja": ja})
    for code, site, level, storage in FACILITIES:
        org = Organisation.objects.filter(code=code, nation_id__in=nations).first()
        if org is None:
            continue
        marking = Classification.objects.filter(nation_id=org.nation_id).get
        FacilityClearance.objects.create(
            organisation=org, site=site, level=marking(code=level),
            storage_level=marking(code=storage) if storage else None,
            granted_by=Organisation.objects.get(code=f"{org.nation_id.lower()}-nsa"),
            valid_from=_years_from(today, -2), valid_until=_years_from(today, 3))
    for code, en, ja in COMMUNITIES:
        Community.objects.get_or_create(code=code, defaults={"name_en": en, "name_ja": ja})


@transaction.atomic
def seed() -> bool:
    """Create the demo world once; returns False if it was already there."""
    if User.objects.filter(username="alice").exists():
        return False
    today = timezone.localdate()
    with audit.source("demo"):
        _seed_organisations(today, {"GBR", "JPN"})
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
        _seed_logistics(today)
        _seed_exercises(today)
    return True


@transaction.atomic
def seed_node(nation: str) -> bool:
    """One nation's node of a federation (``entente node demo``): that nation's organisations,
    facility clearances, people and exchange documents, the two communities. The partner's
    organisations arrive with its identity file, its people stay on its own node. Returns False
    if the node was already seeded."""
    if User.objects.filter(nationality_id=nation, is_active=True).exists():
        return False
    from entente.exchange import services as exchange

    today = timezone.localdate()
    with audit.source("demo"):
        _seed_organisations(today, {nation})
        for spec in USERS:
            if spec.nation == nation:
                _ensure_user(spec, today)
        users = {u.username: u for u in User.objects.filter(nationality_id=nation)}
        for author, label, title_en, title_ja, summary_en, summary_ja, body in DOCUMENTS:
            if author in users:
                exchange.create_document(
                    actor=users[author], label=LabelSpec.parse(label), title_en=title_en,
                    title_ja=title_ja, summary_en=summary_en, summary_ja=summary_ja, body=body)
    return True


def current_code(username: str) -> str:
    spec = next(u for u in USERS if u.username == username)
    totp = TOTP(bytes.fromhex(spec.totp_seed_hex))
    return f"{totp.token():06d}"
