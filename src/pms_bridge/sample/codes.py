"""Reference data of the sample practice: procedure codes, definitions, appointment types.

Descriptions are our own short wording (CDT descriptors are ADA-copyrighted).
Minutes are typical chair times for each code.
"""

from __future__ import annotations

from dataclasses import dataclass

from pms_bridge.sample.opendental_enums import (
    DEF_APPT_CONFIRMED,
    DEF_IMAGE_CATS,
    DEF_INS_VERIFY_STATUS,
    DEF_PROVIDER_SPECIALTIES,
)


@dataclass(frozen=True)
class Code:
    code: str
    descript: str
    abbr: str
    minutes: int
    fee: int  # cents
    is_hygiene: bool = False

    @property
    def is_radiology(self) -> bool:
        return self.code.startswith(("D02", "D03"))

    @property
    def proc_time(self) -> str:
        """Open Dental ProcTime: one character per 5 minutes, X = provider, / = assistant."""
        units = self.minutes // 5
        if units < 3:
            return "X" * units
        return "/" + "X" * (units - 2) + "/"


# code | description | abbreviation | minutes | fee (dollars) | H = hygiene code
_TABLE = """
D0120 | Periodic exam, established patient                   | PerEx   | 10 |   58 |
D0140 | Limited exam, problem focused                        | LimEx   | 15 |   89 |
D0145 | Exam for a child under three                         | ExU3    | 10 |   62 |
D0150 | Comprehensive exam, new or returning                 | CompEx  | 20 |  115 |
D0170 | Re-evaluation, limited                               | ReEval  | 10 |   65 |
D0180 | Comprehensive periodontal exam                       | PerioEx | 20 |   98 |
D0210 | Full mouth series of radiographs                     | FMX     | 20 |  152 |
D0220 | Periapical radiograph, first image                   | PA      |  5 |   36 |
D0230 | Periapical radiograph, each extra image              | PA+     |  5 |   29 |
D0240 | Occlusal radiograph                                  | Occl    |  5 |   42 |
D0270 | Bitewing, one image                                  | 1BW     |  5 |   32 |
D0272 | Bitewings, two images                                | 2BW     | 10 |   55 |
D0274 | Bitewings, four images                               | 4BW     | 10 |   72 |
D0330 | Panoramic radiograph                                 | Pano    | 10 |  132 |
D0460 | Pulp vitality test                                   | Vital   |  5 |   45 |
D1110 | Adult cleaning (prophylaxis)                         | Pro     | 45 |  118 | H
D1120 | Child cleaning (prophylaxis)                         | ChPro   | 30 |   82 | H
D1206 | Fluoride varnish                                     | FlV     |  5 |   42 | H
D1208 | Topical fluoride                                     | Fl      |  5 |   36 | H
D1330 | Oral hygiene instruction                             | OHI     |  5 |   30 |
D1351 | Sealant, per tooth                                   | Seal    | 10 |   52 | H
D2140 | Amalgam, one surface                                 | A1      | 30 |  152 |
D2150 | Amalgam, two surfaces                                | A2      | 40 |  188 |
D2160 | Amalgam, three surfaces                              | A3      | 45 |  226 |
D2330 | Composite, anterior, one surface                     | CA1     | 30 |  168 |
D2331 | Composite, anterior, two surfaces                    | CA2     | 40 |  204 |
D2391 | Composite, posterior, one surface                    | CP1     | 30 |  192 |
D2392 | Composite, posterior, two surfaces                   | CP2     | 40 |  244 |
D2393 | Composite, posterior, three surfaces                 | CP3     | 50 |  298 |
D2740 | Crown, ceramic                                       | CrCer   | 90 | 1265 |
D2750 | Crown, porcelain fused to high noble                 | CrPFM   | 90 | 1210 |
D2790 | Crown, full cast high noble                          | CrGld   | 90 | 1180 |
D2920 | Re-cement crown                                      | Recem   | 20 |  118 |
D2950 | Core buildup                                         | BU      | 20 |  305 |
D2954 | Prefabricated post and core                          | PstCr   | 30 |  382 |
D3220 | Pulpotomy                                            | Ptmy    | 30 |  214 |
D3310 | Root canal, anterior tooth                           | RCTA    | 60 |  862 |
D3320 | Root canal, premolar                                 | RCTP    | 75 |  990 |
D3330 | Root canal, molar                                    | RCTM    | 90 | 1168 |
D3346 | Root canal retreatment, anterior                     | RetxA   | 90 | 1040 |
D4341 | Scaling and root planing, 4+ teeth per quadrant      | SRP4    | 45 |  262 | H
D4342 | Scaling and root planing, 1-3 teeth per quadrant     | SRP3    | 30 |  184 | H
D4346 | Scaling with generalized inflammation                | ScInf   | 50 |  152 | H
D4355 | Full mouth debridement                               | FMD     | 60 |  172 | H
D4381 | Local antimicrobial, per tooth                       | Arest   | 10 |   92 | H
D4910 | Periodontal maintenance                              | PMnt    | 60 |  162 | H
D5110 | Complete denture, upper                              | CDU     | 60 | 1820 |
D5120 | Complete denture, lower                              | CDL     | 60 | 1820 |
D5213 | Partial denture, upper, cast frame                   | RPDU    | 60 | 1935 |
D6010 | Implant body, surgical placement                     | Impl    | 90 | 2140 |
D6056 | Prefabricated implant abutment                       | Abut    | 30 |  610 |
D6058 | Abutment-supported ceramic crown                     | ImpCr   | 60 | 1420 |
D6240 | Bridge pontic, porcelain fused to high noble         | Pont    | 60 | 1120 |
D6750 | Bridge retainer crown, porcelain fused to high noble | Ret     | 90 | 1165 |
D7140 | Extraction, erupted tooth                            | Ext     | 30 |  184 |
D7210 | Surgical extraction                                  | SExt    | 45 |  326 |
D7240 | Extraction, fully bony impaction                     | ImpB    | 60 |  486 |
D7953 | Bone graft for ridge preservation                    | Graft   | 30 |  455 |
D9110 | Palliative treatment of pain                         | Pall    | 20 |  122 |
D9230 | Nitrous oxide analgesia                              | N2O     |  5 |   62 |
D9310 | Consultation                                         | Cons    | 30 |  124 |
D9940 | Occlusal guard                                       | Guard   | 30 |  458 |
D9972 | In-office whitening                                  | Whit    | 60 |  402 |
"""


def _parse(table: str) -> tuple[Code, ...]:
    codes = []
    for line in table.strip().splitlines():
        code, descript, abbr, minutes, dollars, *flag = (part.strip() for part in line.split("|"))
        codes.append(Code(code, descript, abbr, int(minutes), int(dollars) * 100, flag == ["H"]))
    return tuple(codes)


CODES: tuple[Code, ...] = _parse(_TABLE)
CODE_BY_ID: dict[str, Code] = {c.code: c for c in CODES}

# Codes a hygienist may do under the default SCH001 scope.
HYGIENIST_SCOPE = frozenset(
    {
        "D0210",
        "D0220",
        "D0230",
        "D0240",
        "D0270",
        "D0272",
        "D0274",
        "D0330",
        "D1110",
        "D1120",
        "D1206",
        "D1208",
        "D1351",
        "D4341",
        "D4342",
        "D4346",
        "D4355",
        "D4381",
        "D4910",
    }
)

# Radiograph code -> image category its picture is filed under (None: no image row).
XRAY_CATEGORY = {"D0210": "FMXs", "D0272": "BWs", "D0274": "BWs", "D0330": "Panos"}
FMX_OR_PANO = frozenset({"D0210", "D0330"})
PA_FMX_PANO = frozenset({"D0210", "D0220", "D0230", "D0330"})
# Codes that need a recent periapical/FMX/pano (XR002), checked conservatively.
NEEDS_PA_PREFIXES = ("D27", "D29", "D3", "D6", "D7")
NEEDS_FMX = frozenset({"D4341", "D4342"})
# Work the office gets pre-authorized before it is done (crowns, dentures, implants, bridges, SRP; PA001).
PREAUTH_PREFIXES = ("D27", "D51", "D52", "D60", "D62", "D67")
PREAUTH_CODES = frozenset({"D4341", "D4342"})


def needs_preauth(code: str) -> bool:
    return code.startswith(PREAUTH_PREFIXES) or code in PREAUTH_CODES

# Teeth (universal numbering).
MOLARS = (2, 3, 14, 15, 18, 19, 30, 31)
PREMOLARS = (4, 5, 12, 13, 20, 21, 28, 29)
ANTERIORS = (6, 7, 8, 9, 10, 11, 22, 23, 24, 25, 26, 27)

# Definition rows by category (DefNums are handed out in this order). "name=value"
# sets ItemValue (image category flags: X chart, P patient picture, T tooth chart);
# a leading "-" marks a hidden definition.
# ApptConfirmed and InsuranceVerificationStatus also hold what a live office's do: the status eConfirm creates
# (AppointmentConfirmed), patient-flow states, and Open Dental's verification work-queue states.
DEFINITIONS: dict[int, str] = {
    DEF_APPT_CONFIRMED: "Not Called | Unconfirmed | Left Msg | Appointment Confirmed | Texted | AppointmentConfirmed | Arrived"
       " | Ready to go back | In Treatment Room",
    DEF_IMAGE_CATS: "BWs=X | FMXs=X | Panos=X | Photos=XP | Patient Info | Tooth Charts=T | -Scanned Misc",
    DEF_PROVIDER_SPECIALTIES: "General | Hygienist | Endodontics | Orthodontics | Periodontics | Oral Surgery | Pediatric",
    DEF_INS_VERIFY_STATUS: "Verified | Not Verified | Pending | Inactive | Attempted | See Notes | ServiceError",
}

# Preference rows (PrefName, ValueString); ProcTime above is in AppointmentTimeIncrement minutes.
PREFERENCES: tuple[tuple[str, str], ...] = (
    ("PracticeTitle", "Sample Family Dental"),
    ("AppointmentTimeIncrement", "5"),
    ("RecallDaysPast", "365"),
)


def definition_items(category: int) -> list[tuple[str, str, bool]]:
    """(ItemName, ItemValue, IsHidden) of a category, in ItemOrder."""
    items = []
    for entry in DEFINITIONS[category].split("|"):
        entry = entry.strip()
        name, _, value = entry.lstrip("-").partition("=")
        items.append((name, value, entry.startswith("-")))
    return items


# (name, hidden); visit kinds map onto these names.
APPOINTMENT_TYPES: tuple[tuple[str, bool], ...] = (
    ("New Patient", False),
    ("Recall", False),
    ("Perio", False),
    ("Restorative", False),
    ("Endo", False),
    ("Emergency", False),
    ("Consult", False),
    ("Ortho Adjust", True),
)
TYPE_OF_KIND = {
    "np": "New Patient",
    "recall": "Recall",
    "srp": "Perio",
    "rest": "Restorative",
    "endo": "Endo",
    "emerg": "Emergency",
    "consult": "Consult",
}
HYGIENE_KINDS = frozenset({"np", "recall", "srp"})
