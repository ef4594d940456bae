package Test::Nginx::Socket;

# Compat re-implementation of Test::Nginx::Socket (openresty/test-nginx)
# for machines without CPAN: the subset of the data-driven nginx test
# format that this project uses, on core Perl modules only.
#
# This file holds the client side: turning a block's request sections
# into bytes on the wire, and the response/log assertions.  Server
# management and the block loop are in Test::Nginx::Util; the __DATA__
# parser and section filters are in Test::Nginx::Compat::Block.
#
# Test names, section semantics and environment variables follow the
# real module so that a .t file behaves the same under both.  See
# t/compat/README.md for what is (not) supported.

use strict;
use warnings;

our $VERSION = '0.29_compat';

use Carp ();
use Digest::MD5 ();
use Digest::SHA ();
use List::Util qw(min);
use Time::HiRes qw(sleep);
use Test::More ();

use Test::Nginx::Util;
use Test::Nginx::Compat::Block ();
use Test::Nginx::Compat::HTTP ();

our @ResponseBodyChecks;
our $TotalConnectingTimeouts = 0;

$Test::Nginx::Util::RunTestHelper = \&run_test_helper;
$Test::Nginx::Util::CheckErrorLog = \&check_error_log;

# What a test file gets: Test::Nginx::Socket's own exports plus what it
# inherits from Test::Base (the Test::More subset, blocks, filters ...).
our @EXPORT = qw(
    env_to_nginx is_str plan run_tests run_test repeat_each
    config_preamble worker_connections master_process_enabled
    no_long_string workers master_on master_off log_level no_shuffle
    no_root_location use_hup server_name server_addr server_root
    html_dir server_port server_port_for_client timeout
    no_nginx_manager check_accum_error_log add_block_preprocessor
    bail_out add_cleanup_handler add_response_body_check

    ok is isnt like unlike is_deeply cmp_ok skip todo_skip pass fail
    eq_array eq_hash eq_set can_ok isa_ok diag use_ok
    no_diff blocks next_block first_block filters filters_delay
    croak carp cluck confess
);

my %TestMore = map { $_ => 1 } qw(
    ok is isnt like unlike is_deeply cmp_ok skip todo_skip pass fail
    eq_array eq_hash eq_set can_ok isa_ok diag use_ok plan
);
my %CarpFuncs = map { $_ => 1 } qw(croak carp cluck confess);

# use Test::Nginx::Socket;                 # plan later
# use Test::Nginx::Socket 'no_plan';       # or tests => N, skip_all => ...
# use Test::Nginx::Socket -Base;           # in a t::MyTester subclass
sub import {
    my ($class, @args) = @_;
    my $caller = caller;

    # Test::Base turns on strict and warnings for the whole test file
    # (with a source filter); do the same so that a .t file that is not
    # strict-clean fails here too.
    strict->import;
    warnings->import;

    no strict 'refs';
    if (grep { /^-base$/i } @args) {
        push @{"${caller}::ISA"}, $class unless $caller->isa($class);
        @args = grep { !/^-base$/i } @args;
    }

    if (@args) {
        my $tb = Test::More->builder;
        $tb->exported_to($caller);
        $tb->plan(@args);
    }

    for my $sym (@EXPORT) {
        my $code = $TestMore{$sym}  ? \&{"Test::More::$sym"}
                 : $CarpFuncs{$sym} ? \&{"Carp::$sym"}
                 :                    \&{"Test::Nginx::Socket::$sym"};
        *{"${caller}::$sym"} = $code;
    }
}

# Test::Base-flavoured helpers.
sub blocks         { Test::Nginx::Compat::Block::blocks(@_) }
sub filters        { Test::Nginx::Compat::Block::filters(@_) }
sub filters_delay  { Test::Nginx::Compat::Block::filters_delay(@_) }
sub no_diff        { $ENV{TEST_SHOW_NO_DIFFS} = 1 }

my @NextList;
sub next_block {
    @NextList = (blocks(), undef) unless @NextList;
    return shift @NextList;
}
sub first_block { @NextList = (); return next_block() }

sub add_response_body_check { push @ResponseBodyChecks, shift }

# The Test::Nginx::Util functions listed in @EXPORT were imported into
# this package by "use Test::Nginx::Util" above.

#-------------------------------------------------------------------------
# Requests.
#-------------------------------------------------------------------------

sub _more_headers_for {
    my ($block, $more_headers, $i, $what) = @_;
    my $hdr = $more_headers;
    if (ref $more_headers eq 'ARRAY') {
        $hdr = $more_headers->[$i];
        bail_out("--- more_headers lacks data for the $what") unless defined $hdr;
    }
    return Test::Nginx::Compat::HTTP::parse_more_headers($hdr);
}

sub _build {
    my ($block, $hdr, $is_chunked, $conn, @packets) = @_;
    my @out = eval {
        Test::Nginx::Compat::HTTP::build_request(
            packets      => [map { defined $_ ? $_ : '' } @packets],
            more_headers => $hdr,
            is_chunked   => $is_chunked,
            connection   => $conn,
            server_name  => $ServerName,
        );
    };
    if ($@) {
        (my $err = $@) =~ s/\s+\z//;
        bail_out($block->name . " - $err");
    }
    return @out;
}

# Returns a list of requests, each a list of packets
# ({ value => bytes, delay_before => secs }).
sub get_req_from_block {
    my ($block) = @_;
    my $name = $block->name;

    if (defined $block->raw_request) {
        my $raw = $block->raw_request;
        if (ref $raw && ref $raw eq 'ARRAY') {
            return [[ map { { value => $_ } } @$raw ]];
        }
        return [[{ value => $raw }]];
    }

    my $request = $block->request;
    if (defined $request && !ref $request) {
        # leading blank lines and "# comment" lines are allowed
        while ($request =~ s/^\s*\#[^\n]+\s+|^\s+//gs) { }
    }
    my $more_headers = $block->more_headers || '';

    if (my $reqs = $block->pipelined_requests) {
        # All requests in one write on one keep-alive connection; only
        # the last one asks the server to close.
        bail_out("$name - invalid entries in --- pipelined_requests")
            unless ref $reqs eq 'ARRAY';
        my $wire = '';
        for my $i (0 .. $#$reqs) {
            my ($hdr, $chunked) = _more_headers_for($block, $more_headers, $i,
                                                    "$i pipelined request");
            my $conn = $i == $#$reqs ? 'close' : 'keep-alive';
            $wire .= join '', _build($block, $hdr, $chunked, $conn, $reqs->[$i]);
        }
        return [[{ value => $wire }]];
    }

    if (!ref $request) {
        my ($hdr, $chunked) = _more_headers_for($block, $more_headers, 0, 'request');
        my ($wire) = _build($block, $hdr, $chunked, 'close', $request);
        return [[{ value => $wire }]];
    }

    if (ref $request ne 'ARRAY') {
        bail_out("$name - invalid ---request : MUST be string or array of requests");
    }

    my @list;
    my $i = 0;
    for my $one_req (@$request) {
        my ($hdr, $chunked) = _more_headers_for($block, $more_headers, $i, "${i}th request");

        if (!ref $one_req) {
            my ($wire) = _build($block, $hdr, $chunked, 'close', $one_req);
            push @list, [{ value => $wire }];

        } elsif (ref $one_req eq 'ARRAY') {
            # one request split into packets
            my @values = map {
                !ref $_ ? $_
                : ref $_ eq 'HASH' ? $_->{value}
                : bail_out("$name - Invalid syntax. $_ should be a string or hash with value.")
            } @$one_req;
            my @wire = _build($block, $hdr, $chunked, 'close', @values);
            my @packets;
            for my $j (0 .. $#wire) {
                my $orig = $one_req->[$j];
                push @packets, ref $orig ? { %$orig, value => $wire[$j] }
                                         : { value => $wire[$j] };
            }
            push @list, \@packets;

        } else {
            bail_out("$name - Invalid syntax. $one_req should be a string or an array of packets.");
        }
        $i++;
    }
    return \@list;
}

# Connect (retrying while nginx comes up, like upstream), send, read.
# Returns ($raw_response, $is_head_request).
sub send_request {
    my ($req, $middle_delay, $timeout, $block) = @_;
    my $name = $block->name;

    my $head_req = (join '', map { $_->{value} } @$req) =~ /^\s*HEAD\s+/ ? 1 : 0;

    my $addr = $block->server_addr_for_client;
    $addr = $ServerAddr unless defined $addr;

    my $total_tries = $TotalConnectingTimeouts ? 20 : 50;
    my $sock;
    for (my $tries = 1; ; $tries++) {
        $sock = Test::Nginx::Compat::HTTP::connect_once($addr, $ServerPortForClient, $timeout);
        last if $sock;
        my $err = "$!";

        if ($tries > $total_tries) {
            my $msg = "$name - Can't connect to $addr:$ServerPortForClient: $err (aborted)\n";
            if (++$TotalConnectingTimeouts < 3) {
                Test::More->builder->no_ending(1);
                Test::More::fail($msg);
            } else {
                bail_out($msg);
            }
            return (undef, $head_req);
        }

        my $child = $Test::Nginx::Util::ChildPid;
        if (defined $child && !is_running($child)) {
            warn "WARNING: Child process $child is already gone.\n";
            warn `tail -n20 $ErrLogFile`;
            Test::More->builder->no_ending(1);
            Test::More::fail("$name - Can't connect to $addr:$ServerPortForClient: $err (aborted)\n");
            return (undef, $head_req);
        }

        my $wait = (sleep_time() + sleep_time() * $tries) * $tries / 2;
        $wait = 1 if $wait >= 1;
        if ($wait >= 0.6) {
            warn "$name - Can't connect to $addr:$ServerPortForClient: $err\n";
            warn "\tRetry connecting after $wait sec\n" if $tries < $total_tries;
        }
        sleep $wait;
    }

    my $r = Test::Nginx::Compat::HTTP::exchange(
        sock         => $sock,
        packets      => $req,
        timeout      => $timeout,
        middle_delay => $middle_delay,
        shutdown     => _shutdown_how($block),
    );

    warn "$r->{error}\n" if $r->{error};

    if ($r->{timed_out}) {
        if (!defined $block->abort) {
            Test::More->builder->no_ending(1);
            Test::More::fail("ERROR: client socket timed out - $name\n");
        } else {
            sleep 0.005;
        }
    }

    return ($r->{resp}, $head_req);
}

sub _shutdown_how {
    my ($block) = @_;
    my $how = $block->shutdown;
    return undef unless defined $how;
    return $how =~ /^\s*$/s ? 1 : $how;
}

#-------------------------------------------------------------------------
# Per-block test sequence (Test::Nginx::Util calls this per repetition).
#-------------------------------------------------------------------------

sub run_test_helper {
    my ($block, $dry_run, $repeated_req_idx) = @_;
    my $name = $block->name;

    my $reqs = get_req_from_block($block);
    bail_out("$name - request empty") unless @$reqs;

    my $timeout = parse_time($block->timeout);
    $timeout = timeout() unless defined $timeout;

    # Pipelined requests come back as several responses in one read.
    my $pipelined = $block->pipelined_requests;
    my $need_array = $pipelined ? 1 : @$reqs > 1;
    my $res;
    my $req_idx = 0;

    for my $one_req (@$reqs) {
        my ($raw_resp, $head_req);
        if ($dry_run) {
            $raw_resp = "200 OK HTTP/1.0\r\nContent-Length: 0\r\n\r\n";
        } else {
            ($raw_resp, $head_req) = send_request($one_req,
                scalar($block->raw_request_middle_delay), $timeout, $block);
        }
        warn "!!! resp: [" . ($raw_resp // '') . "]" if verbose();

        my $n = $pipelined ? scalar @$pipelined : 0;
        while (1) {
            $raw_resp = '' unless defined $raw_resp;

            my ($raw_headers, $left);
            if (!defined $block->ignore_response) {
                my $err;
                ($res, $raw_headers, $left, $err) =
                    Test::Nginx::Compat::HTTP::parse_response($raw_resp, $head_req,
                        sub { warn "WARNING: $name - $_[0]\n" });
                if ($err) {
                    Test::More->builder->no_ending(1);
                    Test::More::fail("$name - $err");
                }
            }

            if (!$n) {
                if ($left) {
                    $left =~ s/([\0-\037\200-\377])/sprintf('\x{%02x}', ord $1)/eg;
                    warn "WARNING: $name - unexpected extra bytes after last chunk in "
                         . "response: \"$left\"\n";
                }
            } else {
                $raw_resp = $left;    # the next pipelined response
                $n--;
            }

            if (!defined $block->ignore_response) {
                check_error_code($block, $res, $dry_run, $req_idx, $need_array);
                check_raw_response_headers($block, $raw_headers, $dry_run, $req_idx, $need_array);
                check_response_headers($block, $res, $raw_headers, $dry_run, $req_idx, $need_array);
                transform_response_body($block, $res, $req_idx);
                check_response_body($block, $res, $dry_run, $req_idx, $repeated_req_idx, $need_array);
            }

            # Upstream checks the logs between requests too (so log
            # patterns are tested once per intermediate response as well).
            if ($n || $req_idx < @$reqs - 1) {
                sleep $block->wait if $block->wait;
                check_error_log($block, $res, $dry_run, $repeated_req_idx, $need_array);
                check_access_log($block, $dry_run, $repeated_req_idx)
                    unless defined $block->ignore_response;
            }
            $req_idx++;
            last unless $n;
        }
    }

    sleep $block->wait if $block->wait;

    check_error_log($block, $res, $dry_run, $repeated_req_idx, $need_array);
    check_access_log($block, $dry_run, $repeated_req_idx)
        unless defined $block->ignore_response;
}

# For blocks with several requests the expectations must be arrays.
sub get_indexed_value {
    my ($name, $value, $req_idx, $need_array) = @_;
    if ($need_array) {
        return $value->[$req_idx] if ref $value && ref $value eq 'ARRAY';
        bail_out("$name - You asked for many requests, the expected results "
                 . "should be arrays as well.");
    }
    if (ref $value && ref $value eq 'ARRAY') {
        bail_out("$name - SHOULD NOT HAPPEN: idx != 0 and don't need array.")
            if $req_idx != 0;
        return $value->[0];
    }
    return $value;
}

#-------------------------------------------------------------------------
# Response checks.
#-------------------------------------------------------------------------

sub check_error_code {
    my ($block, $res, $dry_run, $req_idx, $need_array) = @_;
    my $name = $block->name;
    my $code = ($res && $res->code) || '';

    SKIP: {
        Test::More::skip("$name - tests skipped due to $dry_run", 1) if $dry_run;

        if (defined $block->error_code_like) {
            my $val = get_indexed_value($name, scalar($block->error_code_like), $req_idx, $need_array);
            Test::More::like($code, qr/$val/sm, "$name - status code ok");
        } elsif (defined $block->error_code) {
            Test::More::is($code,
                get_indexed_value($name, scalar($block->error_code), $req_idx, $need_array),
                "$name - status code ok");
        } else {
            Test::More::is($code, 200, "$name - status code ok");
        }
    }
}

sub check_raw_response_headers {
    my ($block, $raw_headers, $dry_run, $req_idx, $need_array) = @_;
    my $name = $block->name;
    $raw_headers = '' unless defined $raw_headers;

    for my $kind (qw(like unlike)) {
        my $section = "raw_response_headers_$kind";
        next unless defined $block->$section;
        SKIP: {
            Test::More::skip("$name - $section - tests skipped due to $dry_run", 1) if $dry_run;
            my $expected = get_indexed_value($name, scalar($block->$section), $req_idx, $need_array);
            if ($kind eq 'like') {
                Test::More::like($raw_headers, qr/$expected/s, "$name - raw resp headers like");
            } else {
                Test::More::unlike($raw_headers, qr/$expected/s, "$name - raw resp headers unlike");
            }
        }
    }
}

sub check_response_headers {
    my ($block, $res, $raw_headers, $dry_run, $req_idx, $need_array) = @_;
    my $name = $block->name;
    $raw_headers = '' unless defined $raw_headers;

    if (defined $block->response_headers) {
        my $headers = parse_headers(get_indexed_value($name,
            scalar($block->response_headers), $req_idx, $need_array));

        while (my ($key, $val) = each %$headers) {
            if (!defined $val) {
                # "!Name": the header must not be sent at all
                SKIP: {
                    Test::More::skip("$name - response_headers - tests skipped due to $dry_run", 1)
                        if $dry_run;
                    Test::More::unlike($raw_headers, qr/^\s*\Q$key\E\s*:/ms,
                        "$name - header $key not present in the raw headers");
                }
                next;
            }

            $val =~ s/\$ServerPort\b/$ServerPort/g;
            $val =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;

            my $actual = $res ? $res->header($key) : undef;
            $actual = '' unless defined $actual;

            SKIP: {
                Test::More::skip("$name - response_headers - tests skipped due to $dry_run", 1)
                    if $dry_run;
                Test::More::is($actual, $val, "$name - header $key ok");
            }
        }

    } elsif (defined $block->response_headers_like) {
        my $headers = parse_headers(get_indexed_value($name,
            scalar($block->response_headers_like), $req_idx, $need_array));

        while (my ($key, $val) = each %$headers) {
            my $actual = $res ? $res->header($key) : undef;
            $actual = '' unless defined $actual;
            SKIP: {
                Test::More::skip("$name - response_headers_like - tests skipped due to $dry_run", 1)
                    if $dry_run;
                Test::More::like($actual, qr/^$val$/, "$name - header $key like ok");
            }
        }
    }
}

my %BodyFilters = (
    md5_hex  => sub { Digest::MD5::md5_hex($_[0]) },
    sha1_hex => sub { Digest::SHA::sha1_hex($_[0]) },
    uc       => sub { uc $_[0] },
    lc       => sub { lc $_[0] },
    ucfirst  => sub { ucfirst $_[0] },
    lcfirst  => sub { lcfirst $_[0] },
    length   => sub { length $_[0] },
);

sub run_filter_helper {
    my ($block, $filter, $content) = @_;
    my $name = $block->name;
    return $filter->($content) if ref $filter eq 'CODE';
    if (!ref $filter) {
        my $f = $BodyFilters{$filter}
            or bail_out("$name - unknown filter, \"$filter\", specified in the "
                        . '--- response_body_filters section');
        return $f->($content);
    }
    bail_out("$name - the --- response_body_filters section only supports "
             . 'subroutine reference values and string values');
}

sub transform_response_body {
    my ($block, $res, $req_idx) = @_;
    return unless $res && defined $res->content;

    my $filters = $block->response_body_filters;
    return unless defined $filters;
    my $name = $block->name;

    if (!ref $filters) {
        $filters =~ s/^\s+|\s+$//gs;
        $filters = [split /\s+/, $filters];
    } elsif (ref $filters ne 'ARRAY') {
        $filters = [$filters];
    }

    my $filter = $filters;
    if (ref $filters->[0] eq 'ARRAY') {
        # one filter list per request
        $filter = $filters->[$req_idx];
        bail_out("$name - the ---response_body_filters two-dimensional array "
                 . "unmatch the specified request($req_idx)") unless defined $filter;
    }

    my $new = $res->content;
    for my $f (ref $filter eq 'ARRAY' ? @$filter : ($filter)) {
        $new = run_filter_helper($block, $f, $new);
    }
    $res->content($new);
}

sub check_response_body {
    my ($block, $res, $dry_run, $req_idx, $repeated_req_idx, $need_array) = @_;
    my $name = $block->name;

    my $content = $res ? $res->content : undef;
    if (defined $content) {
        $content =~ s/^TE: deflate,gzip;q=0\.3\r\n//gms;
        $content =~ s/^Connection: TE, close\r\n//gms;
    }

    if (defined $block->response_body) {
        my $expected = get_indexed_value($name, scalar($block->response_body), $req_idx, $need_array);
        if (defined $expected && !ref $expected) {
            $expected =~ s/\$ServerPort\b/$ServerPort/g;
            $expected =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
        }

        SKIP: {
            Test::More::skip("$name - response_body - tests skipped due to $dry_run", 1) if $dry_run;
            if (ref $expected) {
                Test::More::like($content, $expected,
                    "$name - response_body - like (repeated req $repeated_req_idx, req $req_idx)");
            } else {
                Test::More::is($content, $expected,
                    "$name - response_body - response is expected (repeated req $repeated_req_idx, req $req_idx)");
            }
        }

    } elsif (defined $block->response_body_like || defined $block->response_body_unlike) {
        my $type = defined $block->response_body_like ? 'like' : 'unlike';
        my $section = "response_body_$type";
        my $pat = get_indexed_value($name, scalar($block->$section), $req_idx, $need_array);
        $pat =~ s/\$ServerPort\b/$ServerPort/g;
        $pat =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;

        my $summary = trim($content);
        $summary = '' unless defined $summary;

        SKIP: {
            Test::More::skip("$name - response_body_$type - tests skipped due to $dry_run", 1) if $dry_run;
            my $desc = "$name - response_body_$type - response is expected ($summary)";
            if ($type eq 'like') {
                Test::More::like($content, qr/$pat/s, $desc);
            } else {
                Test::More::unlike($content, qr/$pat/s, $desc);
            }
        }
    }

    for my $check (@ResponseBodyChecks) {
        $check->($block, $content, $req_idx, $repeated_req_idx, $dry_run);
    }
}

#-------------------------------------------------------------------------
# Log checks.
#-------------------------------------------------------------------------

sub fmt_str {
    my $str = shift;
    chomp $str;
    $str =~ s/"/\\"/g;
    $str =~ s/\r/\\r/g;
    $str =~ s/\n/\\n/g;
    return $str;
}

sub value_contains {
    my ($val, $pat) = @_;
    return $val =~ /\Q$pat\E/ if !ref $val || ref $val eq 'Regexp';
    if (ref $val eq 'ARRAY') {
        for my $v (@$val) {
            return 1 if value_contains($v, $pat);
        }
    }
    return undef;
}

# Section value -> list of patterns (strings are substrings, one a line).
sub _patterns {
    my ($pats) = @_;
    if (!ref $pats) {
        chomp $pats;
        return [split /\n+/, $pats];
    }
    return [$pats] if ref $pats eq 'Regexp';
    return [@$pats];
}

sub _line_matches {
    my ($line, $pat) = @_;
    return (ref $pat && $line =~ /$pat/) || $line =~ /\Q$pat\E/;
}

# Every pattern must match some line: one pass/fail per pattern.
sub _check_log_has {
    my (%a) = @_;
    my ($name, $pats, $lines, $dry_run, $section, $file, $suffix) =
        @a{qw(name pats lines dry_run section file suffix)};

    for my $line (@$lines) {
        for my $pat (@$pats) {
            next unless defined $pat;
            if (_line_matches($line, $pat)) {
                SKIP: {
                    Test::More::skip("$name - $section - tests skipped due to $dry_run", 1) if $dry_run;
                    Test::More::pass("$name - pattern \"$pat\" matches a line in $file$suffix");
                }
                undef $pat;
            }
        }
    }

    for my $pat (@$pats) {
        next unless defined $pat;
        SKIP: {
            Test::More::skip("$name - $section - tests skipped due to $dry_run", 1) if $dry_run;
            Test::More::fail("$name - pattern \"$pat\" should match a line in $file$suffix");
        }
    }
}

# No pattern may match any line: a failure per matching line, else one
# pass per pattern.
sub _check_log_lacks {
    my (%a) = @_;
    my ($name, $pats, $lines, $dry_run, $section, $file, $suffix) =
        @a{qw(name pats lines dry_run section file suffix)};

    my %found;
    for my $i (0 .. $#$lines) {
        my $line = $lines->[$i];
        for my $pat (@$pats) {
            next unless defined $pat;
            next unless _line_matches($line, $pat);

            if ($found{$pat}) {
                Test::More->builder->no_ending(1);
            } else {
                $found{$pat} = 1;
            }

            SKIP: {
                Test::More::skip("$name - $section - tests skipped due to $dry_run ($line)", 1) if $dry_run;
                my ($ln, $p) = (fmt_str($line), fmt_str($pat));
                my @more;
                for (my $j = $i + 1; $j < min($i + 10, @$lines - 1); $j++) {
                    push @more, $lines->[$j];
                }
                Test::More::fail("$name - pattern \"$p\" should not match any line in "
                    . "$file but matches line \"$ln\"$suffix\n" . join '', @more);
            }
        }
    }

    for my $pat (@$pats) {
        next if !defined $pat || $found{$pat};
        SKIP: {
            Test::More::skip("$name - $section - tests skipped due to $dry_run", 1) if $dry_run;
            my $p = fmt_str($pat);
            Test::More::pass("$name - pattern \"$p\" does not match a line in $file$suffix");
        }
    }
}

sub check_access_log {
    my ($block, $dry_run, $repeated_req_idx) = @_;
    my $name = $block->name;
    my $lines;
    my %common = (name => $name, dry_run => $dry_run, file => 'access.log',
                  suffix => " (req $repeated_req_idx)");

    if (defined $block->access_log) {
        $lines ||= access_log_data();
        _check_log_has(%common, section => 'access_log', lines => $lines,
                       pats => _patterns(scalar $block->access_log));
    }
    if (defined $block->no_access_log) {
        $lines ||= access_log_data();
        _check_log_lacks(%common, section => 'no_access_log', lines => $lines,
                         pats => _patterns(scalar $block->no_access_log));
    }
}

sub check_error_log {
    my ($block, $res, $dry_run, $repeated_req_idx, $need_array) = @_;
    my $name = $block->name;
    my $lines;

    # Severe messages are echoed unless the block looks for them itself.
    my %echo = ('[alert]' => 1, '[crit]' => 1, '[emerg]' => 1);

    my $grep_pats = $block->grep_error_log;
    my $grep_pat = ref $grep_pats && ref $grep_pats eq 'ARRAY'
                 ? $grep_pats->[$repeated_req_idx] : $grep_pats;
    if (!defined $grep_pats && defined $block->grep_error_log_out) {
        bail_out("$name - No --- grep_error_log defined but --- grep_error_log_out is defined");
    }

    if (defined $grep_pat) {
        my $expected = $block->grep_error_log_out;
        bail_out("$name - No --- grep_error_log_out defined but --- grep_error_log is defined")
            unless defined $expected;
        $expected = $expected->[$repeated_req_idx] if ref $expected eq 'ARRAY';

        SKIP: {
            Test::More::skip("$name - error_log - tests skipped due to $dry_run", 1) if $dry_run;
            $lines ||= error_log_data();
            my $matched = '';
            for my $line (@{ $lines || [] }) {
                if ((ref $grep_pat && $line =~ /$grep_pat/) || $line =~ /\Q$grep_pat\E/) {
                    $matched .= "$&\n" if $& !~ /\n/;
                }
            }
            if (ref $expected eq 'Regexp') {
                Test::More::like($matched, $expected, "$name - grep_error_log_out (req $repeated_req_idx)");
            } else {
                Test::More::is($matched, $expected, "$name - grep_error_log_out (req $repeated_req_idx)");
            }
        }
    }

    my %common = (name => $name, dry_run => $dry_run, file => 'error.log',
                  suffix => " (req $repeated_req_idx)");

    for my $section (qw(error_log no_error_log)) {
        my $pats = $block->$section;
        next unless defined $pats;
        for my $level (keys %echo) {
            (my $prefix = $level) =~ s/\]$//;
            delete $echo{$level} if value_contains($pats, $prefix);
        }
        $lines ||= error_log_data();
        if ($section eq 'error_log') {
            _check_log_has(%common, section => $section, lines => $lines || [],
                           pats => _patterns($pats));
        } else {
            _check_log_lacks(%common, section => $section, lines => $lines || [],
                             pats => _patterns($pats));
        }
    }

    return if $dry_run;

    $lines ||= error_log_data();
    for my $line (@{ $lines || [] }) {
        for my $level (sort keys %echo) {
            # Crashes ("worker process ... exited on signal 11") are
            # [alert]s: show them, as upstream does, without failing.
            Test::More::diag("WARNING: $name - " . fmt_str($line))
                if index($line, $level) >= 0;
        }
    }

    for my $line (@{ $lines || [] }) {
        if ($line =~ /\bAssertion .*?failed\b/) {
            Test::More->builder->no_ending(1);
            (my $l = $line) =~ s/\n\z//;
            Test::More::fail("$name - $l\n");
        }
    }
}

1;
