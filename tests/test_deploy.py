"""The Kubernetes manifests in deploy/kubernetes, checked offline: what a cluster would
refuse or silently get wrong (a probe on the wrong path, a Service that selects no
pod, a Secret key nobody defines, an Ingress pointing at nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO

DEPLOY = REPO / "deploy" / "kubernetes"
PROBES = {"assistant-rasa": "/", "assistant-actions": "/health", "assistant-web": "/health"}


def _docs(folder: Path = DEPLOY) -> list[dict[str, Any]]:
    docs = []
    for path in sorted(folder.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    return docs


def problems(docs: list[dict[str, Any]]) -> list[str]:
    """Everything wrong with a set of manifests, as readable lines."""
    out: list[str] = []
    by_kind: dict[str, dict[str, dict]] = {}
    for d in docs:
        for key in ("apiVersion", "kind", "metadata"):
            if key not in d:
                out.append(f"a document has no {key}")
        by_kind.setdefault(d.get("kind", "?"), {})[d.get("metadata", {}).get("name", "?")] = d
    secrets = {name: set(d.get("stringData") or d.get("data") or {}) for name, d in by_kind.get("Secret", {}).items()}
    configmaps = {name: set(d.get("data") or {}) for name, d in by_kind.get("ConfigMap", {}).items()}
    pod_labels: list[dict[str, str]] = []
    for name, dep in by_kind.get("Deployment", {}).items():
        spec = dep.get("spec", {})
        template = spec.get("template", {})
        labels = template.get("metadata", {}).get("labels", {})
        pod_labels.append(labels)
        selector = spec.get("selector", {}).get("matchLabels", {})
        if not selector or any(labels.get(k) != v for k, v in selector.items()):
            out.append(f"Deployment {name}: selector {selector} does not match its pod labels {labels}")
        if spec.get("replicas", 1) < 2 and name != "assistant-web":
            out.append(f"Deployment {name}: fewer than 2 replicas cannot survive a pod restart")
        for c in template.get("spec", {}).get("containers", []):
            probe = c.get("readinessProbe", {}).get("httpGet", {})
            if probe.get("path") != PROBES.get(name):
                out.append(f"Deployment {name}: readiness probe on {probe.get('path')!r}, expected {PROBES.get(name)!r}")
            ports = {p.get("name") for p in c.get("ports", [])} | {p.get("containerPort") for p in c.get("ports", [])}
            if probe.get("port") not in ports:
                out.append(f"Deployment {name}: probe port {probe.get('port')!r} is not a container port")
            if not c.get("image"):
                out.append(f"Deployment {name}: container {c.get('name')} has no image")
            if "memory" not in c.get("resources", {}).get("limits", {}):
                out.append(f"Deployment {name}: container {c.get('name')} has no memory limit")
            if name in ("assistant-rasa", "assistant-actions") and "ACTION_SERVER_TOKEN" not in {
                    e.get("name") for e in c.get("env", [])}:
                out.append(f"Deployment {name}: no ACTION_SERVER_TOKEN (the action server refuses calls without it)")
            for env in c.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref and ref.get("key") not in secrets.get(ref.get("name"), set()):
                    out.append(f"Deployment {name}: env {env['name']} reads {ref} which no Secret defines")
        for vol in template.get("spec", {}).get("volumes", []):
            cm = vol.get("configMap", {}).get("name")
            if cm and cm not in configmaps:
                out.append(f"Deployment {name}: volume uses ConfigMap {cm} which is not defined")
    for name, svc in by_kind.get("Service", {}).items():
        spec = svc.get("spec", {})
        if spec.get("type") == "ExternalName":
            continue
        sel = spec.get("selector", {})
        if not any(all(labels.get(k) == v for k, v in sel.items()) for labels in pod_labels):
            out.append(f"Service {name}: selector {sel} matches no pod")
    services = set(by_kind.get("Service", {}))
    for name, ing in by_kind.get("Ingress", {}).items():
        for rule in ing.get("spec", {}).get("rules", []):
            for path in rule.get("http", {}).get("paths", []):
                target = path.get("backend", {}).get("service", {}).get("name")
                if target not in services:
                    out.append(f"Ingress {name}: path {path.get('path')} points at unknown Service {target}")
    for name, cm in by_kind.get("ConfigMap", {}).items():
        endpoints = yaml.safe_load(cm.get("data", {}).get("endpoints.yml", "") or "{}") or {}
        if endpoints and endpoints.get("lock_store", {}).get("type") != "redis":
            out.append(f"ConfigMap {name}: several Rasa pods need the Redis lock store")
        auth = (endpoints.get("action_endpoint", {}).get("headers") or {}).get("Authorization", "")
        if endpoints and auth != "Bearer ${ACTION_SERVER_TOKEN}":
            out.append(f"ConfigMap {name}: the action endpoint sends no ACTION_SERVER_TOKEN (every call refused)")
        url = endpoints.get("action_endpoint", {}).get("url", "")
        if endpoints and not any(f"//{s}:" in url for s in services):
            out.append(f"ConfigMap {name}: action endpoint {url} is not one of the Services")
    return out


def test_the_shipped_manifests_have_no_problems():
    docs = _docs()
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "Service", "Ingress", "ConfigMap", "Secret"} <= kinds
    assert problems(docs) == []


@pytest.mark.parametrize("break_it, expected", [
    (lambda d: d["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"].update(path="/ready"),
     "readiness probe on '/ready'"),
    (lambda d: d["spec"]["template"]["metadata"]["labels"].update(app="other"), "does not match its pod labels"),
    (lambda d: d["spec"]["template"]["spec"]["containers"][0]["env"].append(
        {"name": "X", "valueFrom": {"secretKeyRef": {"name": "assistant-secrets", "key": "NOPE"}}}),
     "which no Secret defines"),
    (lambda d: d["spec"].update(replicas=1), "fewer than 2 replicas"),
    (lambda d: d["spec"]["template"]["spec"]["containers"][0].update(
        env=[e for e in d["spec"]["template"]["spec"]["containers"][0]["env"] if e["name"] != "ACTION_SERVER_TOKEN"]),
     "no ACTION_SERVER_TOKEN"),
])
def test_the_check_catches_a_broken_rasa_deployment(break_it, expected):
    docs = _docs()
    rasa = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "assistant-rasa")
    break_it(rasa)
    assert any(expected in p for p in problems(docs)), problems(docs)


def test_the_check_catches_an_ingress_to_nowhere():
    docs = _docs()
    ingress = next(d for d in docs if d["kind"] == "Ingress")
    ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] = "assistant-gone"
    assert any("unknown Service assistant-gone" in p for p in problems(docs))


def test_the_check_catches_an_action_endpoint_without_the_token():
    docs = _docs()
    cm = next(d for d in docs if d["kind"] == "ConfigMap")
    cm["data"]["endpoints.yml"] = cm["data"]["endpoints.yml"].replace("Bearer ${ACTION_SERVER_TOKEN}", "Bearer x")
    assert any("sends no ACTION_SERVER_TOKEN" in p for p in problems(docs))
