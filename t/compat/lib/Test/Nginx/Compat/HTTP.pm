package Test::Nginx::Compat::HTTP;

# The HTTP/1.x client side of the compat runner: building the request
# text the way Test::Nginx::Socket does, sending it (optionally in
# several packets) over a plain TCP socket, reading until EOF or an idle
# timeout, and parsing the raw response (with chunked decoding).
#
# Nothing here emits TAP; callers turn the returned errors into tests.

use strict;
use warnings;

use Errno qw(EAGAIN EWOULDBLOCK EINTR);
use IO::Select ();
use IO::Socket::INET ();
use Time::HiRes qw(sleep);

#-------------------------------------------------------------------------
# Request building (mirrors parse_request/build_request_from_packets).
#-------------------------------------------------------------------------

# "--- more_headers" text -> ("Key: value\r\n..." , $is_chunked)
sub parse_more_headers {
    my ($in) = @_;
    my ($out, $is_chunked) = ('', undef);
    for my $header (split /\n+/, $in) {
        next if $header =~ /^\s*\#/;
        my ($key, $val) = split /:\s*/, $header, 2;
        $key = '' unless defined $key;
        $val = '' unless defined $val;
        $is_chunked = 1 if lc($key) eq 'transfer-encoding' && $val eq 'chunked';
        $out .= "$key: $val\r\n";
    }
    return ($out, $is_chunked);
}

# Parse "METHOD [URI [VERSION]]\n<body>" like Test::Nginx::Socket.
# Returns a hash, or dies with a message on a bad request line.
sub parse_request_text {
    my ($text) = @_;
    open my $in, '<', \$text or die "cannot read request text: $!";
    my $first = <$in>;
    die "Request line should be non-empty\n" unless $first;

    $first =~ /^(\s*)(\S+)( *)((\S+)( *))?((\S+)( *))?(\s*)$/
        or die "Request line is not valid. Should be 'meth [url [version]]'"
             . " but got \"$first\".\n";
    my ($meth, $url, $ver) = ($2, $5, $8);
    my $prefix_len = length $first;

    my $content = do { local $/; <$in> };
    close $in;

    return {
        method     => $meth,
        url        => defined $url ? $url : '/',
        http_ver   => defined $ver ? $ver : 'HTTP/1.1',
        content    => defined $content ? $content : '',
        prefix_len => $prefix_len,
    };
}

# Build the wire text for one request given as a list of packets (plain
# strings).  Returns a list of packet strings: the request line, the
# generated headers and the (trimmed) body, split at the same body
# offsets as the original packets.
sub build_request {
    my (%a) = @_;
    my @packets = @{ $a{packets} };
    my $more_headers = $a{more_headers};
    my $is_chunked = $a{is_chunked};

    my $whole = join '', @packets;
    my $req = parse_request_text($whole);

    my $content = $req->{content};
    my $lead_trimmed = 0;
    my $len_header = '';
    if (!$is_chunked && $content ne ''
        && $more_headers !~ /(?:^|\n)Content-Length:/)
    {
        # Test::Nginx strips leading/trailing whitespace of the body
        # (notably the final newline of a multi-line section) and
        # computes Content-Length itself.
        ($lead_trimmed) = map { length } $content =~ /^(\s*)/s;
        $content =~ s/^\s+|\s+$//gs;
        $len_header = 'Content-Length: ' . length($content) . "\r\n";
    }

    $more_headers =~ s/(?<!\r)\n/\r\n/gs;

    my $headers = '';
    $headers .= "Host: $a{server_name}\r\n"
        if $more_headers !~ /(?:^|\n)Host:/msi;
    $headers .= "Connection: $a{connection}\r\n"
        if $more_headers !~ /(?:^|\n)Connection/msi;
    $headers .= "$more_headers$len_header\r\n";

    my $head = "$req->{method} $req->{url} $req->{http_ver}\r\n$headers";

    return ($head . $content) if @packets <= 1;

    # Map each original packet boundary onto the rewritten body.
    my @out;
    my ($pos, $prev) = (0, 0);
    for my $i (0 .. $#packets - 1) {
        $pos += length $packets[$i];
        my $off = $pos - $req->{prefix_len} - $lead_trimmed;
        $off = 0 if $off < 0;
        $off = length $content if $off > length $content;
        push @out, ($i == 0 ? $head : '') . substr($content, $prev, $off - $prev);
        $prev = $off;
    }
    push @out, (@out ? '' : $head) . substr($content, $prev);
    return @out;
}

#-------------------------------------------------------------------------
# Sending.
#-------------------------------------------------------------------------

sub connect_once {
    my ($addr, $port, $timeout) = @_;
    return IO::Socket::INET->new(
        PeerAddr => $addr,
        PeerPort => $port,
        Proto    => 'tcp',
        Timeout  => $timeout,
    );
}

# Send the packets over $sock and read the response until EOF.
# $packets: [ { value => "...", delay_before => secs }, ... ]
# Returns { resp => raw text, timed_out => bool, error => msg|undef }.
sub exchange {
    my (%a) = @_;
    my $sock = $a{sock};
    my $timeout = $a{timeout};
    my @packets = @{ $a{packets} };

    local $SIG{PIPE} = 'IGNORE';    # a reset peer must not kill prove
    $sock->blocking(0);

    my %r = (resp => '', timed_out => 0, error => undef);
    my $wbuf = (shift @packets)->{value};
    my $woff = 0;
    my ($writing, $reading) = (1, 1);
    my $rsel = IO::Select->new($sock);
    my $wsel = IO::Select->new($sock);

    while ($writing || $reading) {
        $! = 0;    # so that a stale EINTR is not mistaken for this one
        my ($rready, $wready) = IO::Select->select(
            $reading ? $rsel : undef, $writing ? $wsel : undef, undef, $timeout);

        if (!$rready && !$wready) {
            next if $! == EINTR;
            $r{timed_out} = 1;    # no I/O event within $timeout
            last;
        }

        if ($wready && @$wready) {
            while (1) {
                my $rest = length($wbuf) - $woff;
                if ($rest > 0) {
                    my $n = syswrite $sock, $wbuf, $rest, $woff;
                    if (!defined $n) {
                        last if $! == EAGAIN || $! == EWOULDBLOCK;
                        $r{error} = "write failed: $!";
                        $r{resp} = $r{error} if $r{resp} eq '';
                        ($writing, $reading) = (0, 0);
                        last;
                    }
                    $woff += $n;
                    next;
                }

                my $next = shift @packets;
                if (!defined $next) {
                    $writing = 0;
                    if (defined $a{shutdown}) {
                        shutdown $sock, $a{shutdown};
                    }
                    last;
                }
                ($wbuf, $woff) = ($next->{value}, 0);
                my $delay = defined $next->{delay_before}
                          ? $next->{delay_before} : $a{middle_delay};
                sleep $delay if $delay;
            }
        }

        if ($reading && $rready && @$rready) {
            while (1) {
                my $buf;
                my $n = sysread $sock, $buf, 65536;
                if (!defined $n) {
                    last if $! == EAGAIN || $! == EWOULDBLOCK;
                    $r{error} = "HTTP response read failure: $!";
                    ($writing, $reading) = (0, 0);
                    last;
                }
                if ($n == 0) {
                    # EOF: like Test::Nginx, stop writing as well.
                    ($writing, $reading) = (0, 0);
                    last;
                }
                $r{resp} .= $buf;
            }
        }
    }

    close $sock;
    return \%r;
}

#-------------------------------------------------------------------------
# Response parsing (HTTP::Response->parse + Test::Nginx's chunk decoder).
#-------------------------------------------------------------------------

# Returns ($res, $raw_headers, $left, $error).  $error is a test failure
# message (invalid chunked data); $res is undef in that case.
sub parse_response {
    my ($raw, $head_req, $warn) = @_;

    my $raw_headers = '';
    $raw_headers = $1 if $raw =~ /(.*?\r\n)\r\n/s;

    my $res = Test::Nginx::Compat::Response->parse($raw);
    my $code = $res->code;

    return ($res, $raw_headers) if $code && ($code == 304 || $code == 101);

    my $enc = $res->header('Transfer-Encoding');
    my $len = $res->header('Content-Length');
    my $left;

    if (defined $enc && $enc eq 'chunked') {
        my $body = $res->content;
        my $decoded = '';
        while (1) {
            if ($body =~ /\G 0 [\ \t]* \r\n \r\n /gcsx) {
                $left = $1 if $body =~ /\G (.+) /gcsx;
                last;
            }
            if ($body =~ m{ \G [\ \t]* ( [A-Fa-f0-9]+ ) [\ \t]* \r\n }gcsx) {
                my $size = hex $1;
                my $pos = pos $body;
                if (length($body) - $pos < $size) {
                    return (undef, $raw_headers, undef,
                            'invalid chunked data received (not enought octets'
                            . ' for the data section)');
                }
                $decoded .= substr $body, $pos, $size;
                pos($body) = $pos + $size;
                if ($body !~ /\G\r\n/gcs) {
                    return (undef, $raw_headers, undef,
                            'invalid chunked data received (expected CRLF).');
                }
            } elsif ($body =~ /\G.+/gcs) {
                return (undef, $raw_headers, undef,
                        "invalid chunked body received: $&");
            } else {
                return (undef, $raw_headers, undef,
                        "no last chunk found - $body");
            }
        }
        $res->content($decoded);

    } elsif (defined $len && $len =~ /^\d+$/) {
        my $body = $res->content;
        if (length $body < $len) {
            $warn->("response body truncated: $len expected, but got "
                    . length($body)) if !$head_req && $warn;
        } elsif (length $body > $len) {
            $left = substr $body, $len;
            $res->content(substr $body, 0, $len);
        }
    }

    return ($res, $raw_headers, $left);
}

#-------------------------------------------------------------------------

package Test::Nginx::Compat::Response;

# Just enough of HTTP::Response for the checks: code, header(), content.

use strict;
use warnings;

sub parse {
    my ($class, $str) = @_;
    $str = '' unless defined $str;

    my $status_line;
    if ($str =~ s/^(.*)\n//) {
        $status_line = $1;
    } else {
        ($status_line, $str) = ($str, '');
    }
    $status_line =~ s/\r\z//;

    # HTTP::Message->parse: header lines up to the first empty line.
    my @hdr;
    while (1) {
        if ($str =~ s/^([^\s:]+)[ \t]*: ?(.*)\n?//) {
            push @hdr, [$1, $2];
            $hdr[-1][1] =~ s/\r\z//;
        } elsif (@hdr && $str =~ s/^([ \t].*)\n?//) {
            $hdr[-1][1] .= "\n$1";
            $hdr[-1][1] =~ s/\r\z//;
        } else {
            $str =~ s/^\r?\n//;
            last;
        }
    }

    my ($protocol, $code, $message);
    if ($status_line =~ /^\d{3} /) {
        ($code, $message) = split ' ', $status_line, 2;
    } else {
        ($protocol, $code, $message) = split ' ', $status_line, 3;
    }
    undef $code if defined $code && $code !~ /^\d+$/;

    return bless {
        code     => $code,
        message  => $message,
        protocol => $protocol,
        headers  => \@hdr,
        content  => $str,
    }, $class;
}

sub code { $_[0]{code} }

# Case-insensitive; several values are joined with ", " like HTTP::Headers
# does in scalar context.
sub header {
    my ($self, $name) = @_;
    my @v = map { $_->[1] } grep { lc $_->[0] eq lc $name } @{ $self->{headers} };
    return undef unless @v;
    return join ', ', @v;
}

sub content {
    my $self = shift;
    $self->{content} = shift if @_;
    return $self->{content};
}

1;
