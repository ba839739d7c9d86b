"""Health, the ML service's status, and the offline API docs."""

from __future__ import annotations


async def test_health_is_open_and_says_no_job_runs(api):
    health = (await api.get("/health")).json()
    assert (health["status"], health["running_job"]) == ("ok", None)


async def test_status_reports_the_ml_service(api, library, tmp_path):
    status = (await api.get("/api/v1/status")).json()
    assert status["ml"]["capabilities"]["backend"] == "tiny"
    assert status["ml"]["error"] is None
    assert status["ml"]["replicas"][0]["reachable"] is True
    assert status["store"]["backend"] == "embedded"
    assert status["ingest_roots"] == [str(library), str(tmp_path / "data" / "uploads")]
    assert status["admin_token_required"] is False


async def test_api_docs_work_offline(api):
    page = await api.get("/docs")
    assert page.status_code == 200
    assert "cdn." not in page.text
    script = next(part.split('"')[0] for part in page.text.split('src="')[1:] if "swagger-ui-bundle" in part)
    assert (await api.get(script)).status_code == 200


async def test_the_api_alone_serves_no_ui(api):
    assert (await api.get("/")).status_code == 404
    assert (await api.get("/static/app.css")).status_code == 404
