# Unit tests of the compat Test::Nginx internals that need no nginx:
# the Test::Base-style block parser/filters and the HTTP request
# builder / response parser.  The expected values are what Test::Base
# and Test::Nginx::Socket produce for the same input.
#
# Loads t/compat/lib itself, so it also runs (and tests the compat code)
# when the suite runs under the real Test::Nginx.

use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Test::Nginx::Compat::Block ();
use Test::Nginx::Compat::HTTP ();

sub parse {
    my ($spec) = @_;
    my @blocks = Test::Nginx::Compat::Block::parse_spec($spec);
    $_->run_filters([qw(norm trim)], {}) for @blocks;
    return @blocks;
}

#--- sections and default filters ---------------------------------------

my ($b) = parse(<<'_EOS_');
=== TEST 1: sections
--- config

    location = /t { return 200; }


--- error_code: 404
--- response_body chomp
hello
--- request eval
"GET /t\n" . ("a" x 3)
--- raw eval: 6 * 7
--- crlf
a\r
b
_EOS_

is($b->name, 'TEST 1: sections', 'block name');
is($b->config, "    location = /t { return 200; }\n",
   'leading blank lines dropped, trailing ones collapsed to one newline');
is($b->error_code, '404', 'inline value has no newline');
is($b->response_body, 'hello', 'chomp removes the final newline');
is($b->request, "GET /t\naaa", 'eval filter');
is($b->raw, 42, 'inline value with a filter');
is($b->no_such_section, undef, 'missing section is undef');
is_deeply([$b->no_such_section], [], 'missing section is an empty list');
$b->set_value('no_such_section', 'now set');
is($b->no_such_section, 'now set', 'set_value');

{
    my ($crlf) = parse("=== T\n--- body\na\r\nb\r\n");
    is($crlf->body, "a\nb\n", 'norm turns CRLF into LF');
}

#--- eval results ---------------------------------------------------------

{
    my ($e) = parse(<<'_EOS_');
=== TEST 2: eval
--- list eval
["GET /a", "GET /b"]
--- re eval
qr/foo\d+/
--- bad eval
die "boom\n"
--- bin eval
"a\0b"
_EOS_
    is(ref $e->list, 'ARRAY', 'eval can give an array ref');
    is_deeply($e->list, ['GET /a', 'GET /b'], 'array ref content');
    is(ref $e->re, 'Regexp', 'eval can give a regex');
    is($e->bad, "boom\n", 'a failing eval yields $@, like Test::Base');
    is($e->bin, "a\0b", 'binary data through eval');
}

{
    no warnings 'once';
    *main::compat_helper = sub { 'from main' };
    my ($e) = parse("=== T\n--- a eval\nmain::compat_helper()\n--- b eval\ncompat_helper()\n");
    is($e->a, 'from main', 'eval can call fully qualified main:: subs');
    like($e->b, qr/Undefined subroutine|Bareword/,
         'eval does not run in package main (as in Test::Base)');
}

#--- ONLY / SKIP / LAST ---------------------------------------------------

{
    my @b = Test::Nginx::Compat::Block::parse_spec(
        "=== A\n--- x: 1\n=== B\n--- SKIP\n=== C\n--- LAST\n=== D\n");
    is_deeply([map { $_->name } @b], ['A', 'C'], 'SKIP drops a block, LAST ends the list');

    local $SIG{__WARN__} = sub { };
    my @only = do {
        no warnings 'redefine';
        local *Test::More::diag = sub { };
        Test::Nginx::Compat::Block::parse_spec("=== A\n=== B\n--- ONLY\n=== C\n");
    };
    is_deeply([map { $_->name } @only], ['B'], 'ONLY keeps just that block');
}

#--- request building -----------------------------------------------------

sub build {
    my (%a) = @_;
    my ($hdr, $chunked) = Test::Nginx::Compat::HTTP::parse_more_headers($a{more} // '');
    return Test::Nginx::Compat::HTTP::build_request(
        packets => $a{packets}, more_headers => $hdr, is_chunked => $chunked,
        connection => 'close', server_name => 'localhost');
}

is(build(packets => ["GET /t\n"]),
   "GET /t HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
   'simple GET');

is(build(packets => ["GET\n"]),
   "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
   'URI defaults to /');

is(build(packets => ["POST /t HTTP/1.0\nhello world\n"], more => "Content-Type: text/x\n"),
   "POST /t HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n"
   . "Content-Type: text/x\r\nContent-Length: 11\r\n\r\nhello world",
   'body is trimmed and gets a Content-Length; more_headers come first');

is(build(packets => ["GET /t\n"], more => "Host: example.com\nconnection: keep-alive"),
   "GET /t HTTP/1.1\r\nHost: example.com\r\nconnection: keep-alive\r\n\r\n",
   'Host and Connection from more_headers replace the defaults');

is(build(packets => ["POST /t\n5\r\nhello\r\n0\r\n\r\n"], more => "Transfer-Encoding: chunked"),
   "POST /t HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
   . "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
   'chunked bodies are sent as they are');

is_deeply([build(packets => ["POST /t\nhel", "lo"])],
          ["POST /t HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
           . "Content-Length: 5\r\n\r\nhel", "lo"],
          'packets split the body at the same place');

#--- response parsing -----------------------------------------------------

{
    my ($res, $raw_headers, $left, $err) = Test::Nginx::Compat::HTTP::parse_response(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\nx-a: 2\r\n\r\n"
        . "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 0);
    is($err, undef, 'valid chunked response');
    is($res->code, 200, 'status code');
    is($res->content, 'hello world', 'chunks decoded');
    is($res->header('X-A'), '1, 2', 'repeated headers are joined');
    is($raw_headers, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\nx-a: 2\r\n",
       'raw headers');
    is($left, undef, 'nothing left over');
}

{
    my (undef, undef, undef, $err) = Test::Nginx::Compat::HTTP::parse_response(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", 0);
    like($err, qr/not enought octets/, 'truncated chunk is an error');
}

{
    my ($res, undef, $left) = Test::Nginx::Compat::HTTP::parse_response(
        "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nabcdef", 0);
    is($res->code, 404, 'status 404');
    is($res->content, 'abc', 'body cut at Content-Length');
    is($left, 'def', 'extra bytes reported');
}

{
    my ($res) = Test::Nginx::Compat::HTTP::parse_response('', 0);
    is($res->code, undef, 'no response, no status');
}

done_testing();
