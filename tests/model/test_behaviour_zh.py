"""Behavioural tests of the production model on Chinese (CheckList style): minimum functionality per
signal, invariance to company names and numbers, a directional case, and Chinese explanations."""
import numpy as np
import pytest

from pipeline.scoring.scorer import Scorer
from pipeline.signals import SIGNALS
from pipeline.thresholds import flags

MINIMUM = {
    "ideology": ["集团党委召开理论学习中心组学习会，传达学习习近平总书记重要讲话精神，要求全体党员坚定拥护“两个确立”、坚决做到“两个维护”。",
                 "集团纪委召开警示教育大会，通报违反中央八项规定精神典型案例，持续推进全面从严治党。"],
    "reform": ["根据国企改革深化提升行动部署，集团将三家冶炼子公司合并重组，压减管理层级，全面推行经理层任期制和契约化管理。",
               "经国务院国资委批准，本钢集团51%股权无偿划转至鞍钢集团，本钢成为鞍钢控股子公司。"],
    "export": ["商务部、海关总署发布公告，对钐、钆、铽、镝等七类中重稀土相关物项实施出口管制，出口须申请许可。",
               "欧盟和日本加快建设本土稀土分离产能，以减少对中国供应的依赖并扩大海外采购渠道。"],
    "technology": ["公司建成智能化稀土冶炼生产线，应用人工智能和数字孪生技术，研发投入强度提高到百分之三以上。",
                   "宝武湛江钢铁氢基竖炉示范工程投产，探索氢冶金低碳炼铁新工艺。"],
    "risk": ["受强降雨影响，尾矿库坝体出现渗漏险情，企业紧急撤离人员并停产排查安全隐患。",
             "受供应过剩影响，氧化镨钕价格大幅下跌，多家磁材企业利润收窄，经营压力明显加大。"],
}


def flags_zh(trained, texts):
    fitted, thresholds = trained
    return flags(fitted.predict_proba(texts), thresholds, ["zh"] * len(texts))


@pytest.mark.parametrize("signal", SIGNALS)
def test_minimum_functionality_per_signal_in_chinese(trained, signal):
    flags = flags_zh(trained, MINIMUM[signal])
    assert flags[:, SIGNALS.index(signal)].all(), MINIMUM[signal]


def test_attendance_and_furniture_carry_no_signal(trained):
    nothing = ["集团公司领导班子成员出席会议。", "来源：包钢日报", "白云鄂博矿位于包头市以北约150公里。"]
    assert flags_zh(trained, nothing).sum() == 0


@pytest.mark.parametrize("swap", [("包钢集团", "鞍钢集团"), ("包钢集团", "中国五矿"), ("51%", "49%"), ("七类", "五类")])
def test_flags_do_not_depend_on_company_names_or_numbers(trained, swap):
    texts = [t for group in MINIMUM.values() for t in group]
    swapped = [t.replace(*swap) for t in texts]
    np.testing.assert_array_equal(flags_zh(trained, texts), flags_zh(trained, swapped))


def test_adding_a_hazard_raises_risk(trained):
    fitted, _ = trained
    plain = "公司召开季度生产经营分析会，总结一季度生产情况。"
    hazard = plain + "会议通报，矿区发生边坡坍塌事故，造成人员伤亡，要求立即开展安全隐患排查。"
    before, after = fitted.predict_proba([plain, hazard])[:, SIGNALS.index("risk")]
    assert after > before + 0.2


def test_explanations_and_language_in_chinese(trained):
    fitted, thresholds = trained
    scored = Scorer(fitted, thresholds, explain_top=3).score(MINIMUM["export"][:1] + MINIMUM["risk"][:1])
    assert list(scored["lang"]) == ["zh", "zh"]
    assert scored["export"].iat[0] == 1 and any("出口" in term for term in scored["explain_export"].iat[0].split(";"))
