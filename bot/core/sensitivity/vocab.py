"""Health information vocabulary, English and French (accent-folded, lower case).

``STRONG`` terms are personal health information on their own (a diagnosis, a medication, a lab result).
``WEAK`` terms count only beside a strong term or a clinical context word (``CONTEXT``), so that "a depression in
the market" or "a test of the build" does not."""

from __future__ import annotations

STRONG = frozenset("""
diabetes diabetic diabete diabetique hiv vih aids sida hepatitis hepatite cancer tumour tumor tumeur leukemia leucemie
lymphoma lymphome chemotherapy chimiotherapie radiotherapy radiotherapie dialysis dialyse schizophrenia schizophrenie
bipolar bipolaire alzheimer dementia demence parkinson epilepsy epilepsie asthma asthme copd hypertension
tuberculosis tuberculose chlamydia syphilis gonorrhea herpes hiv-positive seropositif seropositive pregnancy grossesse
miscarriage fausse-couche abortion avortement autism autisme adhd tdah anorexia anorexie bulimia boulimie
metformin metformine insulin insuline sertraline fluoxetine prozac zoloft lithium methadone methadone opioid opioide
oxycodone morphine warfarin chemo statin statine atorvastatin lisinopril levothyroxine ozempic semaglutide
hba1c a1c cholesterol ldl hdl creatinine hemoglobin hemoglobine glycemie glucose biopsy biopsie mammogram
mammographie colonoscopy coloscopie mri irm ct-scan electrocardiogram ecg ekg
stroke avc myocardial infarctus cardiac cardiaque arrhythmia arythmie cirrhosis cirrhose ptsd tspt
overdose surdose pregnant enceinte crohn migraine migraines rehab desintoxication concussion commotion fracture sclerosis sclerose lupus crohn
""".split())

WEAK = frozenset("""
depression anxiety anxiete diagnosis diagnostic diagnosed diagnostique diagnostiquee prescription ordonnance
prescribed prescrit medication medicament medicaments therapy therapie treatment traitement symptoms symptomes
blood sanguine sang lab laboratoire results resultats positive positif negative negatif infection surgery chirurgie
allergy allergie disability handicap illness maladie condition mental psychiatric psychiatrique counselling
""".split())

CONTEXT = frozenset("""
patient patiente diagnosed diagnostique diagnostiquee prescribed prescrit doctor docteur medecin physician nurse
infirmiere clinic clinique hospital hopital hospitalise hospitalized dossier chart medical medicale health sante
""".split())

PHRASES = (
    "blood test", "analyse sanguine", "test results", "lab results", "resultats d'analyse", "sick leave for",
    "mental health", "sante mentale", "medical leave", "conge de maladie", "health condition", "etat de sante",
)
