"""Behavioural tests of the production model (CheckList style): minimum functionality,
invariance to names, numbers and dates, and directional expectations."""
import numpy as np
import pytest

from pipeline.signals import SIGNALS
from pipeline.thresholds import flags

MINIMUM = {
    "ideology": [
        "The group's Party committee held a study session on the General Secretary's speech and urged members "
        "to strengthen political loyalty.",
        "Discipline inspectors opened an anti-corruption review of two former executives for violating the "
        "eight-point rules.",
    ],
    "reform": [
        "The state-owned group will merge its three smelting subsidiaries and cut management layers as part of "
        "the SOE reform plan.",
        "SASAC told the company to tie executive pay to return on equity and to tighten control of new investment.",
    ],
    "export": [
        "Beijing added dysprosium and terbium to its export control list, requiring licences for overseas shipments.",
        "Washington raised tariffs on Chinese magnets as Japanese buyers sought suppliers outside China.",
    ],
    "technology": [
        "The company launched an AI-driven smart mine with driverless trucks and a digital twin of its "
        "separation plant.",
        "Researchers at the group developed a new low-energy extraction process and filed forty patents.",
    ],
    "risk": [
        "A tailings dam breach after heavy rain forced the evacuation of workers and halted production.",
        "Rating agencies warned that the group's rising debt and weak liquidity could trigger a default.",
    ],
}
NOTHING = [
    "Leave a Reply",
    "Bayan Obo lies about 150 kilometres north of Baotou in Inner Mongolia.",
    "Neodymium is a silvery metal used in permanent magnets.",
]


def probabilities(trained, texts):
    fitted, _ = trained
    return fitted.predict_proba(texts)


def flagged(trained, texts):
    fitted, thresholds = trained
    return flags(fitted.predict_proba(texts), thresholds)


@pytest.mark.parametrize("signal", SIGNALS)
def test_minimum_functionality_per_signal(trained, signal):
    flags = flagged(trained, MINIMUM[signal])
    assert flags[:, SIGNALS.index(signal)].all(), MINIMUM[signal]


def test_furniture_and_background_carry_no_signal(trained):
    assert flagged(trained, NOTHING).sum() == 0


INVARIANCE = [
    ("Baogang's Party committee studied Xi's speech on July 7 and pledged to cut costs by 5%.",
     "China Northern Rare Earth's Party committee studied Xi's speech on March 19 and pledged to cut costs by 8%."),
    ("Chairman Meng Fanying said export licences for terbium would be granted to Japanese buyers in 2025.",
     "Chairman Zhang Wei said export licences for terbium would be granted to Japanese buyers in 2027."),
    ("Minmetals reported a flood at its Ganzhou mine that halted output of 1,200 tonnes.",
     "Chinalco reported a flood at its Liangshan mine that halted output of 3,400 tonnes."),
    ("Minmetals evacuated its Ganzhou mine after a flood breached the tailings dam in May 2024.",
     "Chinalco evacuated its Liangshan mine after a flood breached the tailings dam in August 2026."),
]


@pytest.mark.parametrize("original, swapped", INVARIANCE)
def test_names_numbers_and_dates_do_not_change_the_signals(trained, original, swapped):
    flags = flagged(trained, [original, swapped])
    assert (flags[0] == flags[1]).all()
    proba = probabilities(trained, [original, swapped])
    assert np.abs(proba[0] - proba[1]).max() < 0.2  # place names do move probabilities a little (data card)


DIRECTIONAL = [
    ("export", "Baogang reported higher steel output in the third quarter.",
     " The commerce ministry also tightened export licences for rare earth magnets."),
    ("risk", "Chinalco signed a new bauxite supply contract in Guinea.",
     " A gas explosion at one of its smelters killed two workers last month."),
    # A calm opening dilutes the hazard in the normalised TF-IDF vector: the lift sat at the bar, moved across it by
    # each corpus round, until NB-LR (the data card's "Known gaps" keeps its history).
    ("risk", "China Rare Earth Group held its annual work conference in Ganzhou.",
     " A gas explosion at one of its smelters killed two workers last month."),
    ("ideology", "Chinalco signed a new bauxite supply contract in Guinea.",
     " The Party committee then convened a study session on Xi Jinping Thought."),
    ("technology", "Ansteel's Anshan plant produced 2 million tonnes of rebar this year.",
     " It now runs an AI quality-inspection system and a digital twin of the blast furnace."),
    ("reform", "Northern Rare Earth sells polishing powder to domestic glass makers.",
     " The group is restructuring, merging four subsidiaries and replacing its general manager."),
]


@pytest.mark.parametrize("signal, base, addition", DIRECTIONAL,
                         ids=[getattr(d, "values", d)[0] for d in DIRECTIONAL])
def test_adding_a_signal_sentence_raises_its_probability(trained, signal, base, addition):
    before, after = probabilities(trained, [base, base + addition])[:, SIGNALS.index(signal)]
    assert after > before + 0.2, (before, after)


# The guide's boundary rows for reform, as the data card's labelling rules read them: quotas are reform when the
# state sets, allocates or controls them, not as a bare figure; ownership and management changes are reform at
# Chinese enterprises, not at foreign ones (export's ground). Facts other than the development set's and the
# re-read paragraphs' (the 2024 quota, the Pentagon's stake in MP Materials).
REFORM_BOUNDARY = [
    ("reform", "The industry ministry allocated this year's tungsten mining quotas by province and told local "
     "authorities to hand them only to licensed state miners.", 1),
    ("reform", "Beijing tightened total-quantity control, ordering the two state groups not to exceed their quotas "
     "and punishing overproduction.", 1),
    ("reform", "Baowu took control of Taiyuan Iron & Steel after the provincial government transferred a 51% stake "
     "in its parent free of charge.", 1),
    # A foreign government's stake taken in a loan restructuring sat just over the threshold from round 10 to
    # round 12 (0.50-0.53 against 0.48-0.49); under it again since round 13.
    ("reform", "The US Energy Department agreed to take a 5% equity stake in Lithium Americas as part "
     "of a loan restructuring.", 0),
    ("reform", "Japan's JOGMEC and Sojitz invested in Lynas in exchange for supply to Japanese buyers.", 0),
    ("reform", "Lynas named a new chief executive and split its business into two divisions.", 0),
    # A known weakness (data card, "Known gaps"): the model learns bare quota figures rather than the rule, so a
    # figure the corpus labels none is not flagged (2021's 162,000 tonnes, in round 10) but one it has never seen
    # still is. The figure here is in no article. Strict.
    pytest.param("reform", "The 2023 smelting and separation quota was 230,000 tonnes.", 0,
                 marks=pytest.mark.xfail(strict=True, reason="bare quota figures the corpus lacks read as reform")),
]


# The guide's dependence rows as the data card's risk re-reading reads them: an effort to reduce dependence is
# risk when the paragraph states the dependence (a share, a disruption, a shortage), not when a purpose phrase
# alone names it ("cut reliance on", "independent of China": stock phrases, export's ground). Facts other than
# the development set's (MP Materials and the Pentagon).
RISK_DEPENDENCE = [
    ("risk", "Canada's government awarded C$20 million to a Saskatchewan processing centre to cut the country's "
     "reliance on imported rare earths.", 0),
    ("risk", "Korea Zinc signed an offtake with an Australian miner, part of its plan to build supply chains "
     "independent of China.", 0),
    ("risk", "Canada imports nearly all of its permanent magnets from China.", 1),
    ("risk", "Thai electronics firms rely on Chinese suppliers for almost all the rare-earth magnets they use.", 1),
    # The effort row with the dependence stated: the same grant as above, now risk.
    ("risk", "Canada, which imports nearly all of its permanent magnets from China, awarded C$20 million to a "
     "Saskatchewan processing centre to cut the country's reliance on imported rare earths.", 1),
    # A known weakness (data card, "Known gaps"): a stockpile still reads as risk when only its purpose is given,
    # though the corpus's stockpile paragraphs were read again by the same rule.
    pytest.param("risk", "The EU's new stockpiling scheme aims to diversify sources of gallium and germanium and "
                 "secure supply for European industry.", 0,
                 marks=pytest.mark.xfail(strict=True, reason="a stockpile's purpose alone still reads as risk")),
]


@pytest.mark.parametrize("signal, text, expected", REFORM_BOUNDARY + RISK_DEPENDENCE)
def test_signals_follow_the_guides_boundary_rows(trained, signal, text, expected):
    assert flagged(trained, [text])[0, SIGNALS.index(signal)] == expected


# A known weakness (data card, "Known gaps"): a plant built outside China's controls, with no dependence stated, is
# export only by the guide, but sits at the risk threshold, within 0.02 of it under either firm's name. Which side
# it falls on moves with each corpus round (and moved with numpy's AVX-512 kernels before builds kept to AVX2:
# data card), so its flag is no test. Its probability is: it must not move further into risk, and the firm's name
# must not move it.
AT_THE_THRESHOLD = [
    "Lynas opened a separation plant in Texas to supply US magnet makers outside China's export controls.",
    "MP Materials opened a separation plant in Texas to supply US magnet makers outside China's export controls.",
]


def test_a_plant_outside_chinas_controls_stays_at_the_risk_threshold_whatever_the_firm(trained):
    _, thresholds = trained
    risk = probabilities(trained, AT_THE_THRESHOLD)[:, SIGNALS.index("risk")]
    assert (risk < thresholds["en"]["risk"] + 0.05).all(), risk
    assert np.abs(np.diff(probabilities(trained, AT_THE_THRESHOLD), axis=0)).max() < 0.05
