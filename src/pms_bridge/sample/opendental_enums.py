"""Open Dental's enum numbers and names, primary keys and stamp columns, spelled once.

The sample practice writes these numbers into its raw table exports; the fake Open Dental API in
tests (tests/fakes) turns them into the text its JSON answers carry. Numbers follow
OpenDentBusiness (branch 24_3): the database stores the number, the API sends the name.

The engine does not read this module: what a number means to pms-bridge is the mapping's business
(src/pms_bridge/mapping/), so that a mapping file can be checked against an office's own data.
"""

from __future__ import annotations

from collections.abc import Mapping

# ---------------------------------------------------------------- enums (DB number -> API text)
APT_STATUS = dict(enumerate(
    ["None", "Scheduled", "Complete", "UnschedList", "ASAP", "Broken", "Planned", "PtNote", "PtNoteCompleted"]))
PROC_STATUS = {1: "TP", 2: "C", 3: "EC", 4: "EO", 5: "R", 6: "D", 7: "Cn", 8: "TPi"}
PAT_STATUS = dict(enumerate(["Patient", "NonPatient", "Inactive", "Archived", "Deleted", "Deceased", "Prospective"]))
GENDER = dict(enumerate(["Male", "Female", "Unknown", "Other"]))
PROV_STATUS = {0: "Active", 1: "Deleted"}
REF_TYPE = {0: "RefTo", 1: "RefFrom", 2: "RefCustom"}
REF_TO_STATUS = dict(enumerate(["None", "Declined", "Scheduled", "Consulted", "InTreatment", "Complete"]))
VERIFY_TYPE = {0: "None", 1: "InsuranceBenefit", 2: "PatientEnrollment"}
SHEET_TYPE = dict(enumerate(
    ["LabelPatient", "LabelCarrier", "LabelReferral", "ReferralSlip", "LabelAppointment", "Rx", "Consent",
     "PatientLetter", "ReferralLetter", "PatientForm", "RoutingSlip", "MedicalHistory", "LabSlip", "ExamSheet",
     "DepositSlip"]))
RELAT = dict(enumerate(
    ["Self", "Spouse", "Child", "Employee", "HandicapDep", "SignifOther", "InjuredPlaintiff", "LifePartner",
     "Dependent"]))
IMG_TYPE = dict(enumerate(["Document", "Radiograph", "Photo", "File", "Attachment"]))
DEF_CAT = {2: "ApptConfirmed", 11: "ProcCodeCats", 13: "RecallUnschedStatus", 18: "ImageCats", 27: "CommLogTypes",
           33: "TaskPriorities", 35: "ProviderSpecialties", 38: "InsuranceVerificationStatus"}
CLAIM_STATUS = {"U", "H", "W", "S", "R", "I"}  # stored as letters, sent as letters
CLAIMPROC_STATUS = dict(enumerate(
    ["NotReceived", "Received", "Preauth", "Adjustment", "Supplemental", "CapClaim", "Estimate", "CapComplete",
     "CapEstimate", "InsHist"]))
HIST_ACTION = dict(enumerate(["Created", "Changed", "Missed", "Cancelled", "Deleted"]))  # HistAppointmentAction
EFORM_TYPE = dict(enumerate(["PatientForm", "MedicalHistory", "Consent"]))  # EnumEFormType
EFORM_STATUS = dict(enumerate(["None", "ReadyForPatientFill", "Filled", "Imported", "UnmatchedToPatient"]))


def number(names: Mapping[int, str], name: str) -> int:
    """The number Open Dental stores for ``name`` in one of the tables above."""
    return next(num for num, text in names.items() if text == name)


# ---------------------------------------------------------------- the numbers the sample writes by name
SCHEDULED, COMPLETE, UNSCHED_LIST, BROKEN, PLANNED, PT_NOTE = (
    number(APT_STATUS, n) for n in ("Scheduled", "Complete", "UnschedList", "Broken", "Planned", "PtNote"))
TP, C = number(PROC_STATUS, "TP"), number(PROC_STATUS, "C")
TPI = number(PROC_STATUS, "TPi")  # treatment planned, inactive (declined or put off)
CP_NOT_RECEIVED, CP_RECEIVED, CP_PREAUTH, CP_ESTIMATE = (
    number(CLAIMPROC_STATUS, n) for n in ("NotReceived", "Received", "Preauth", "Estimate"))
EO = number(PROC_STATUS, "EO")  # existing, charted from another office's records
PATIENT, INACTIVE = number(PAT_STATUS, "Patient"), number(PAT_STATUS, "Inactive")
PROV_ACTIVE = number(PROV_STATUS, "Active")
REF_TO, REF_FROM = number(REF_TYPE, "RefTo"), number(REF_TYPE, "RefFrom")
REF_NONE, REF_SCHEDULED, REF_CONSULTED, REF_COMPLETE = (
    number(REF_TO_STATUS, n) for n in ("None", "Scheduled", "Consulted", "Complete"))
SELF, SPOUSE, CHILD = (number(RELAT, n) for n in ("Self", "Spouse", "Child"))
VERIFY_INSURANCE_BENEFIT = number(VERIFY_TYPE, "InsuranceBenefit")  # insverify.FKey is a PlanNum
VERIFY_PATIENT_ENROLLMENT = number(VERIFY_TYPE, "PatientEnrollment")  # insverify.FKey is a PatPlanNum
SHEET_CONSENT, SHEET_PATIENT_FORM, SHEET_MEDICAL_HISTORY = (
    number(SHEET_TYPE, n) for n in ("Consent", "PatientForm", "MedicalHistory"))
EFORM_IMPORTED = number(EFORM_STATUS, "Imported")  # filled in by the patient and imported
IMG_DOCUMENT, IMG_RADIOGRAPH, IMG_PHOTO = (number(IMG_TYPE, n) for n in ("Document", "Radiograph", "Photo"))
DEF_APPT_CONFIRMED, DEF_IMAGE_CATS, DEF_PROVIDER_SPECIALTIES, DEF_INS_VERIFY_STATUS = (
    number(DEF_CAT, n)
    for n in ("ApptConfirmed", "ImageCats", "ProviderSpecialties", "InsuranceVerificationStatus"))

# ---------------------------------------------------------------- tables
PRIMARY_KEYS = {
    "appointment": "AptNum", "patient": "PatNum", "provider": "ProvNum", "procedurelog": "ProcNum",
    "procedurecode": "CodeNum", "definition": "DefNum", "appointmenttype": "AppointmentTypeNum",
    "carrier": "CarrierNum", "insplan": "PlanNum", "inssub": "InsSubNum", "patplan": "PatPlanNum",
    "insverify": "InsVerifyNum", "referral": "ReferralNum", "refattach": "RefAttachNum", "document": "DocNum",
    "sheet": "SheetNum", "claim": "ClaimNum", "eform": "EFormNum", "clinic": "ClinicNum",
    "mount": "MountNum", "mountitem": "MountItemNum", "histappointment": "HistApptNum",
    "preference": "PrefNum", "proccodenote": "ProcCodeNoteNum", "claimproc": "ClaimProcNum",
}
# The column the database stamps on every change ("in the PMS": touch/insert).
STAMP_COLUMN = {
    "appointment": "DateTStamp", "patient": "DateTStamp", "provider": "DateTStamp", "procedurelog": "DateTStamp",
    "procedurecode": "DateTStamp", "referral": "DateTStamp", "refattach": "DateTStamp", "document": "DateTStamp",
    "carrier": "SecDateTEdit", "insplan": "SecDateTEdit", "inssub": "SecDateTEdit", "patplan": "SecDateTEdit",
    "insverify": "SecDateTEdit", "claim": "SecDateTEdit", "sheet": "DateTSheetEdited", "eform": "DateTEdited",
    "claimproc": "SecDateTEdit",
}
