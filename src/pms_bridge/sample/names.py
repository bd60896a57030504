"""Made-up people, companies and identifiers. Nothing here belongs to anyone real.

Last names are compounds of two syllable lists; phone numbers use the
555-01xx range reserved for fiction; e-mail domains are the reserved
example.com/.net/.org.
"""

from __future__ import annotations

from random import Random


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.strip().splitlines())


FEMALE = _words("""
    Ada Bea Cora Dana Edie Faye Gwen Hana Iris Jana Kira Lena Mira Nora Opal Pia
    Rhea Sana Tess Una Vera Wren Yara Zoe Alma Bryn Cleo Dora Elsa Fern Greta Hazel
""")
MALE = _words("""
    Abe Bram Cal Dax Eli Finn Gus Hal Ivo Jude Kai Lev Milo Nico Otto Pax
    Quin Rex Sol Tad Ugo Vic Wes Zev Arlo Beck Cy Dov Emil Fitz Gil Hugo
""")
NICKNAMES = dict(
    pair.split(":")
    for pair in _words("Abe:Abie Bram:Bee Dana:Dee Eli:El Nico:Nic Greta:Gret Hugo:Hu Kira:Kiki")
)
_LAST_A = _words(
    "Ash Birch Cald Dun Elm Fair Glen Hart Ives Kell Lang Mar North Oak Pen Quarr Rook Stan Thorn"
)
_LAST_B = _words("ford wick more by ley ton well worth brook dale field gate holm mere stead")
# "name | electronic payer id"
CARRIERS = tuple(
    (name.strip(), elect.strip())
    for name, elect in (
        line.split("|")
        for line in _lines("""
            Summit Dental Mutual | 71234
            Harborline Benefit Co | 71389
            Prairie Smile Assurance | 72011
            Keystone Dental Plan | 72455
            Bluewater Dental Trust | 73002
            Northstar Health Dental | 73391
            Cedar Benefit Administrators | 74120
            Lakeshore Dental Network | 74806
            Copperfield Insurance Group | 75177
            Riverbend Dental Alliance | 75920
        """)
    )
)
EMPLOYERS = _lines("""
    Lakeside School District
    Pinecrest Manufacturing
    Metro Transit Authority
    Silverline Logistics
    County Health System
    Granite Credit Union
    Orchard Foods
    Westfield University
    Beacon Software
    Ironwood Construction
    Harbor City Hall
    Maple Retail Group
    Sunrise Hospitality
    Redstone Engineering
    Clearview Labs
    Northern Rail Works
    Bayview Hospital
    Summit Electric Coop
    Tallgrass Farms
    Evergreen Insurance Agency
    Fox Valley Schools
    Prairie Wind Energy
""")
# Marketing sources a patient can come from (non-person referrals, name in LName).
SOURCES = ("Website", "Online Search", "Insurance Directory", "Community Event", "Mailer")
# Outside doctors by specialty; the general dentists refer patients to us.
DOCTOR_SPECIALTIES = (
    ("General",) * 3 + ("Orthodontics", "Periodontics") + ("Oral Surgery",) * 2 + ("Pediatric",)
)


def last_name(rng: Random) -> str:
    return rng.choice(_LAST_A) + rng.choice(_LAST_B)


def first_name(rng: Random, gender: int) -> str:
    return rng.choice(FEMALE if gender == 1 else MALE)


def phone(rng: Random, area: int) -> str:
    return f"({area})555-01{rng.randrange(100):02d}"


def email(rng: Random, first: str, last: str) -> str:
    domain = rng.choice(("example.com", "example.net", "example.org"))
    return f"{first.lower()}.{last.lower()}{rng.randrange(10, 99)}@{domain}"


def subscriber_id(rng: Random) -> str:
    letters = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(3))
    return letters + "".join(rng.choice("0123456789") for _ in range(9))


def group_number(rng: Random) -> str:
    return f"G{rng.randrange(10000, 99999)}-{rng.randrange(10, 99)}"
