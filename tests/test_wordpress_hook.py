# ruff: noqa: E501  (the PHP stubs are kept one function a line)
"""The WordPress hook of docs/publish-api.md, run by the real PHP interpreter against a real
``recommender serve``: WordPress's own functions are stubbed (a post object, its terms, and
``wp_remote_request`` as a plain HTTP call), the hook's code is the documented code itself."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from recommender.engine import Engine

from ._serving import http, serve_process
from .test_server_process import ARTICLES

pytestmark = pytest.mark.model

DOCS = Path(__file__).resolve().parent.parent / "docs" / "publish-api.md"
TOKEN = "hook-test-token"

STUBS = r"""<?php
$GLOBALS['actions'] = array();
function add_action( $name, $callback, $priority = 10, $args = 1 ) { $GLOBALS['actions'][ $name ][] = $callback; }
function do_action( $name, ...$args ) { foreach ( $GLOBALS['actions'][ $name ] ?? array() as $c ) { $c( ...$args ); } }
class WP_Post { public $ID; public $post_title; public $post_content; public $post_password = ''; public $post_type = 'post'; public $post_status = 'publish'; public $post_author = 1; public $post_date_gmt; }
function get_the_category( $id ) { return array( (object) array( 'name' => 'World &amp; Politics' ) ); }
function get_the_title( $post ) { return str_replace( "'", '&#8217;', $post->post_title ); }
function strip_shortcodes( $text ) { return preg_replace( '/\[\/?[a-z_]+[^\]]*\]/', '', $text ); }
function wp_strip_all_tags( $text ) { return trim( strip_tags( preg_replace( '@<(script|style)[^>]*?>.*?</\\1>@si', '', $text ) ) ); }
function get_permalink( $post ) { return 'https://news.example/world/' . $post->ID . '/'; }
function get_post_time( $format, $gmt, $post ) { return gmdate( 'c', strtotime( $post->post_date_gmt . ' UTC' ) ); }
function wp_get_post_tags( $id, $args ) { return array( 'energy', 'russia' ); }
function get_locale() { return 'en_GB'; }
function get_the_author_meta( $field, $user ) { return 'Lena Whitcombe'; }
function wp_json_encode( $data ) { return json_encode( $data ); }
function is_wp_error( $thing ) { return false; }
function wp_remote_retrieve_response_code( $response ) { return $response['code']; }
function wp_remote_request( $url, $args ) {
	$headers = '';
	foreach ( $args['headers'] as $k => $v ) { $headers .= "$k: $v\r\n"; }
	$context = stream_context_create( array( 'http' => array( 'method' => $args['method'], 'header' => $headers, 'content' => $args['body'] ?? '', 'ignore_errors' => true, 'timeout' => $args['timeout'] ) ) );
	$body = file_get_contents( $url, false, $context );
	preg_match( '{HTTP/\S+ (\d+)}', $http_response_header[0], $m );
	echo "$args[method] $url -> $m[1]\n";
	return array( 'code' => (int) $m[1], 'body' => $body );
}
"""

SCENARIO = r"""
$post = new WP_Post();
$post->ID = 4242;
$post->post_title = "Kremlin and Beijing sign energy accords after the summit";
$post->post_content = "<!-- wp:paragraph --><p>Russia and China signed agreements on gas pipelines and oil supplies a day after the presidents' video summit.</p><!-- /wp:paragraph -->[caption id=\"1\"]<img src=x>[/caption]<script>alert(1)</script>";
$post->post_date_gmt = '2025-06-02 09:00:00';
do_action( 'publish_post', $post->ID, $post );
do_action( 'transition_post_status', 'draft', 'publish', $post );
"""


def hook_code(base: str) -> str:
    code = DOCS.read_text().split("```php\n", 1)[1].split("```", 1)[0]
    code = code.replace("https://recommender.example.com", base)
    return re.sub(r"^<\?php", f"define( 'RECOMMENDER_WRITE_TOKEN', '{TOKEN}' );", code)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    work = tmp_path_factory.mktemp("hook")
    index = work / "indexes" / "news"
    Engine.build(list(ARTICLES), index)
    (work / "recommender.toml").write_text(f'[serve]\nwrite_token = "{TOKEN}"\n')
    with serve_process(index, work, "--no-access-log") as base:
        # the server loads its model in the background at start: wait for it once, here,
        # so the hook's 10 s timeout measures a write, not the model's start-up
        auth = {"Authorization": f"Bearer {TOKEN}"}
        warm = {"title": "Warm-up", "body": "Model warm-up."}
        assert http(f"{base}/articles/warm-up", warm, auth, method="PUT")[0] == 200
        assert http(f"{base}/articles/warm-up", None, auth, method="DELETE")[0] == 200
        yield work, base


def php() -> str:
    binary = shutil.which("php")
    if binary is None:
        pytest.fail(
            "php-cli is not installed (apt-get install php-cli; see .ci/run): the documented"
            " WordPress hook must be run by the real PHP interpreter"
        )
    return binary


def run_php(work: Path, base: str, scenario: str) -> str:
    script = work / "hook-run.php"
    script.write_text(STUBS + hook_code(base) + scenario)
    lint = subprocess.run([php(), "-l", str(script)], capture_output=True, text=True, timeout=60)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    done = subprocess.run([php(), str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_publish_post_hook_puts_the_post_and_unpublishing_deletes_it(
    server: tuple[Path, str],
) -> None:
    work, base = server
    publish_only = SCENARIO.replace(
        "do_action( 'transition_post_status', 'draft', 'publish', $post );", ""
    )
    output = run_php(work, base, publish_only)
    assert f"PUT {base}/articles/4242 -> 200" in output, output
    article = json.loads(http(f"{base}/articles/4242")[2])
    assert article["title"] == "Kremlin and Beijing sign energy accords after the summit"
    assert article["body"].startswith("Russia and China signed agreements on gas pipelines")
    assert "<" not in article["body"] and "alert" not in article["body"]
    assert (article["category"], article["tags"]) == ("World & Politics", ["energy", "russia"])
    assert article["published_at"] == "2025-06-02T09:00:00+00:00"
    assert article["url"] == "https://news.example/world/4242/"
    related = json.loads(http(f"{base}/related/world/russia-china-summit?k=5")[2])["results"]
    assert "4242" in [r["id"] for r in related]
    output = run_php(work, base, SCENARIO)  # published again (unchanged), then unpublished
    assert f"DELETE {base}/articles/4242 -> 200" in output, output
    assert http(f"{base}/articles/4242")[0] == 404


def test_a_wrong_token_is_logged_and_changes_nothing(server: tuple[Path, str]) -> None:
    work, base = server
    script = STUBS + hook_code(base).replace(TOKEN, "stale-token") + SCENARIO
    (work / "bad.php").write_text(script)
    done = subprocess.run(
        [php(), str(work / "bad.php")], capture_output=True, text=True, timeout=120
    )
    assert f"PUT {base}/articles/4242 -> 401" in done.stdout
    assert "recommender: PUT 4242 failed (401)" in done.stderr + done.stdout
    assert http(f"{base}/articles/4242")[0] == 404
