import httpx
import openai
import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from lgt_graph.agents.calling import ask
from lgt_graph.agents.proposal_checks import ProposalError, check_proposal, random_change
from lgt_graph.agents.schemas import Proposal, Verdict
from lgt_graph.space import config_key, space_for
from tests.scripted_model import ScriptedChatModel

SPACE = space_for("tabular_classification")
BASE = SPACE.default()
GOOD = {
    "changes": [{"knob": "dropout", "value": 0.3, "reason": "val loss rises"}],
    "rationale": "overfitting",
    "expected_effect": "a smaller gap",
}


def proposal(**change):
    return Proposal.model_validate({**GOOD, "changes": [{**GOOD["changes"][0], **change}]})


def test_a_good_reply_is_used_as_is():
    model = ScriptedChatModel(replies=[GOOD], seen=[])
    answer = ask(model, [HumanMessage("propose")], Proposal)
    assert answer.status == "ok" and answer.attempts == 1
    assert answer.value.changes[0].knob == "dropout"


def test_a_bad_reply_is_sent_back_once_with_its_error():
    bad = {"changes": [{"knob": "dropout", "value": 0.3}], "rationale": "x"}  # no reason
    model = ScriptedChatModel(replies=[bad, GOOD], seen=[])
    answer = ask(model, [HumanMessage("propose")], Proposal)
    assert answer.status == "repaired" and answer.attempts == 2
    second = model.seen[1]
    assert isinstance(second[1], AIMessage) and isinstance(second[2], ToolMessage)
    assert "reason" in second[2].content and "Field required" in second[2].content
    assert "could not be used" in second[3].content


def test_two_bad_replies_fall_back_with_the_reason():
    model = ScriptedChatModel(replies=[AIMessage("I think dropout should go up.")], seen=[])
    answer = ask(model, [HumanMessage("propose")], Proposal)
    assert answer.value is None and answer.attempts == 2
    assert answer.status.startswith("fallback: ValueError: the reply holds no Proposal")


def test_the_check_rejects_what_the_space_forbids_and_the_model_gets_the_error():
    def check(p):
        return check_proposal(p, SPACE, BASE, {})

    wrong = {**GOOD, "changes": [{"knob": "drop_out", "value": 0.3, "reason": "typo"}]}
    model = ScriptedChatModel(replies=[wrong, GOOD], seen=[])
    answer = ask(model, [HumanMessage("propose")], Proposal, check)
    assert answer.status == "repaired"
    assert "unknown knob 'drop_out'" in model.seen[1][-2].content
    config, changes = answer.value
    assert config["dropout"] == 0.3 and changes[0]["old"] == 0.0


def test_an_endpoint_that_stays_down_falls_back():
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    model = ScriptedChatModel(replies=[openai.APIConnectionError(request=request)], seen=[])
    answer = ask(model, [HumanMessage("judge")], Verdict)
    assert answer.value is None and answer.status.startswith("fallback: endpoint error")


def test_our_own_bugs_still_raise():
    model = ScriptedChatModel(replies=[KeyError("a bug")], seen=[])
    with pytest.raises(KeyError):
        ask(model, [HumanMessage("judge")], Verdict)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"knob": "dropout", "value": 0.9}, "dropout=0.9 is out of range"),
        ({"knob": "dropout", "value": "lots"}, "dropout='lots' is not a number"),
        ({"knob": "optimizer", "value": "lion"}, "optimizer='lion' is not one of"),
        ({"knob": "dropout", "value": 0.0}, "changes nothing"),
        ({"knob": "n_estimators", "value": 300}, r"\(model 'mlp'\) does not read n_estimators"),
        ({"knob": "momentum", "value": 0.9}, r"\(model 'mlp'\) does not read momentum"),  # adam
    ],
)
def test_check_proposal_errors(change, message):
    with pytest.raises((ProposalError, Exception), match=message):
        check_proposal(proposal(**change), SPACE, BASE, {})


def test_check_proposal_accepts_numbers_as_text_and_rejects_repeats():
    config, _changes = check_proposal(proposal(value="0.25"), SPACE, BASE, {})
    assert config["dropout"] == 0.25
    with pytest.raises(ProposalError, match=r"already tried \(trial 4\)"):
        check_proposal(proposal(value=0.25), SPACE, BASE, {config_key(config): 4})
    twice = Proposal.model_validate({**GOOD, "changes": GOOD["changes"] * 2})
    with pytest.raises(ProposalError, match="changed twice"):
        check_proposal(twice, SPACE, BASE, {})


def test_random_changes_stay_in_the_space_and_never_repeat():
    tried = {config_key(BASE): 1}
    seen = set()
    for seed in range(40):
        config, changes = random_change(SPACE, BASE, tried, seed)
        assert SPACE.validate(config) == config
        assert 1 <= len(changes) <= 2 and config_key(config) not in tried
        seen.add(config_key(config))
    assert len(seen) > 30
    assert random_change(SPACE, BASE, tried, 7) == random_change(SPACE, BASE, tried, 7)
