package Test::Nginx::Util;

# Compat re-implementation of the server-management half of
# Test::Nginx (openresty/test-nginx, lib/Test/Nginx/Util.pm): settings,
# servroot layout, nginx.conf generation, starting/stopping/reloading
# nginx, and the per-block driver (run_tests/run_test).  The request and
# response checks live in Test::Nginx::Socket, which plugs itself in via
# $RunTestHelper and $CheckErrorLog exactly like the real module.
#
# Only core Perl modules are used.  Deviations from the real module are
# listed in t/compat/README.md.

use strict;
use warnings;

use Carp ();
use Exporter 'import';
use File::Find ();
use IO::Socket::INET ();
use File::Path qw(make_path remove_tree);
use File::Spec ();
use File::Temp ();
use List::Util qw(shuffle max min);
use POSIX qw(:sys_wait_h);
use Scalar::Util qw(looks_like_number);
use Time::HiRes qw(sleep time);
use Test::More ();

use Test::Nginx::Compat::Block ();
use Test::Nginx::Compat::HTTP ();

#-------------------------------------------------------------------------
# Settings (same names, defaults and environment variables as the real
# Test::Nginx::Util).  Other modules may read these; only this module
# changes them, and never with local() (local would break the aliases
# that Exporter creates).
#-------------------------------------------------------------------------

our $Verbose              = $ENV{TEST_NGINX_VERBOSE};
our $UseHup               = $ENV{TEST_NGINX_USE_HUP};
our $UseValgrind          = $ENV{TEST_NGINX_USE_VALGRIND};
our $LoadModules          = $ENV{TEST_NGINX_LOAD_MODULES};
our $NoShuffle            = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $NoNginxManager       = $ENV{TEST_NGINX_NO_NGINX_MANAGER} || 0;
our $Timeout              = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $CheckAccumErrLog     = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $EventType            = $ENV{TEST_NGINX_EVENT_TYPE};
our $PostponeOutput       = $ENV{TEST_NGINX_POSTPONE_OUTPUT};
our $ReusePort            = $ENV{TEST_NGINX_REUSE_PORT};
our $WorkerUser           = $ENV{TEST_NGINX_WORKER_USER};
our $NginxBinary          = $ENV{TEST_NGINX_BINARY} || 'nginx';
our $LogLevel             = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $ServerPort           = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;
our $ServerPortForClient  = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort || 1984;
our $TestNginxSleep       = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $ForceRestartOnTest   = defined $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST}
                          ? $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} : 1;

# The compat runner binds the test server to this address only (the real
# one listens on all addresses); the client always connects here.
our $ServerAddr           = '127.0.0.1';
our $ServerName           = 'localhost';
our $Workers              = 1;
our $WorkerConnections    = 64;
our $DaemonEnabled        = 'on';
our $NoRootLocation       = 0;
our $RepeatEach           = 1;
our $NoLongString;
our $ConfigPreamble       = '';
our @EnvToNginx;
our @BlockPreprocessors;
our @CleanupHandlers;

# Hooks installed by Test::Nginx::Socket.
our $RunTestHelper;
our $CheckErrorLog;

# Runtime state.
our ($NginxVersion, $NginxRawVersion, $OpenSSLVersion);
our $ConfigVersion;
our $PrevConfig;
our $ChildPid;             # nginx we run in the foreground (valgrind mode)
our $ErrLogFilePos = 0;
our @ExtraErrLogLines;     # startup stderr lines to check (must_die)
our $FirstTime = 1;
our $InSubprocess;
my  $MainPid = $$;

# Valgrind runs nginx in the foreground, like the real module does.
$DaemonEnabled = 'off' if $UseValgrind;

srand $$;

our $ServRoot = File::Spec->rel2abs($ENV{TEST_NGINX_SERVROOT} || 't/servroot');
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

our $LogDir     = File::Spec->catfile($ServRoot, 'logs');
our $ErrLogFile = File::Spec->catfile($LogDir, 'error.log');
our $AccLogFile = File::Spec->catfile($LogDir, 'access.log');
our $HtmlDir    = File::Spec->catfile($ServRoot, 'html');
our $ConfDir    = File::Spec->catfile($ServRoot, 'conf');
our $ConfFile   = File::Spec->catfile($ConfDir, 'nginx.conf');
our $PidFile    = File::Spec->catfile($LogDir, 'nginx.pid');

# Private scratch space (nginx stderr captures, valgrind output); kept
# out of the servroot because the servroot is wiped between blocks.
my $ScratchDir    = File::Temp::tempdir('test-nginx-compat-XXXXXX',
                                        TMPDIR => 1, CLEANUP => 1);
my $StderrFile    = "$ScratchDir/nginx.stderr";
my $ValgrindLog   = "$ScratchDir/valgrind.out";
my $ValgrindPos   = 0;

our @EXPORT = qw(
    env_to_nginx is_str no_long_string server_addr server_name
    timeout no_shuffle no_nginx_manager use_hup add_block_preprocessor
    add_cleanup_handler bail_out run_tests run_test repeat_each
    worker_connections workers master_on master_off
    master_process_enabled log_level check_accum_error_log
    no_root_location html_dir server_root server_port
    server_port_for_client config_preamble sleep_time verbose
    error_log_data access_log_data parse_time trim show_all_chars
    parse_headers is_running get_pid_from_pidfile
    $ServerPort $ServerPortForClient $ServerAddr $ServerName
    $NoLongString $RepeatEach $ServRoot $ConfFile $PidFile $ErrLogFile
    $AccLogFile $HtmlDir $NginxVersion $RunTestHelper $CheckErrorLog
);

#-------------------------------------------------------------------------
# Small public setters/getters (same semantics as the real ones).
#-------------------------------------------------------------------------

sub no_long_string ()      { $NoLongString = 1 }
sub no_shuffle ()          { $NoShuffle = 1 }
sub no_nginx_manager ()    { $NoNginxManager = 1 }
sub use_hup ()             { $UseHup = 1 }
sub no_root_location ()    { $NoRootLocation = 1 }
sub check_accum_error_log () { $CheckAccumErrLog = 1 }
sub master_on ()           { $MasterProcessEnabled = 'on' }
sub master_off ()          { $MasterProcessEnabled = 'off' }
sub config_preamble ($)    { $ConfigPreamble = shift }
sub html_dir ()            { $HtmlDir }
sub server_root ()         { $ServRoot }
sub sleep_time             { $TestNginxSleep }
sub verbose                { $Verbose }

sub _getset {
    my ($ref, @args) = @_;
    if (@args) { $$ref = $args[0]; return }
    return $$ref;
}

sub server_addr (@)            { _getset(\$ServerAddr, @_) }
sub server_name (@)            { _getset(\$ServerName, @_) }
sub timeout (@)                { _getset(\$Timeout, @_) }
sub server_port (@)            { _getset(\$ServerPort, @_) }
sub server_port_for_client (@) { _getset(\$ServerPortForClient, @_) }
sub worker_connections (@)     { _getset(\$WorkerConnections, @_) }
sub workers (@)                { _getset(\$Workers, @_) }
sub log_level (@)              { _getset(\$LogLevel, @_) }

sub repeat_each (@) {
    $RepeatEach = shift if @_;
    return $RepeatEach;
}

sub master_process_enabled (@) {
    if (@_) { $MasterProcessEnabled = shift() ? 'on' : 'off'; return }
    return $MasterProcessEnabled;
}

sub env_to_nginx (@) {
    Carp::croak('env_to_nginx: no arguments specified') unless @_;
    for my $v (@_) {
        Carp::croak("env_to_nginx: bad argument value: $v\n")
            if $v !~ /^[A-Za-z_]/ || $v =~ /\n/;
        push @EnvToNginx, $v;
    }
}

# Preprocessors run in reverse order of registration, like the real one.
sub add_block_preprocessor (&) { unshift @BlockPreprocessors, shift }
sub add_cleanup_handler ($)    { unshift @CleanupHandlers, shift }

sub is_str (@) {
    my ($got, $expected, $desc) = @_;
    if (ref $expected && ref $expected eq 'Regexp') {
        return Test::More::like($got, $expected, $desc);
    }
    return Test::More::is($got, $expected, $desc);
}

sub bail_out (@) {
    cleanup();
    Test::More::BAIL_OUT(join '', @_);
}

#-------------------------------------------------------------------------
# Helpers shared with Test::Nginx::Socket.
#-------------------------------------------------------------------------

# "1.5", "1.5s" or "500ms" -> seconds.
sub parse_time ($) {
    my $tm = shift;
    if (defined $tm) {
        if ($tm =~ s/([^_a-zA-Z])ms$/$1/) {
            $tm = $tm / 1000;
        } else {
            $tm =~ s/([^_a-zA-Z])s$/$1/;
        }
    }
    return $tm;
}

sub trim ($) {
    my $s = shift;
    return undef unless defined $s;
    $s =~ s/^\s+|\s+$//g;
    $s =~ s/\n/ /gs;
    $s =~ s/\s{2,}/ /gs;
    return $s;
}

sub show_all_chars ($) {
    my $s = shift;
    $s =~ s/\n/\\n/gs;
    $s =~ s/\r/\\r/gs;
    $s =~ s/\t/\\t/gs;
    return $s;
}

# "Name: value" lines -> { Name => value }; "!Name" -> { Name => undef }.
sub parse_headers ($) {
    my $s = shift;
    my %headers;
    for my $line (split /^/m, $s) {
        $line =~ s/^\s+|\s+$//g;
        my $neg = ($line =~ s/^!\s*//);
        if ($neg) {
            $headers{$line} = undef;
        } else {
            my ($key, $val) = split /\s*:\s*/, $line, 2;
            $key = '' unless defined $key;
            $headers{$key} = $val;
        }
    }
    return \%headers;
}

sub gen_rand_str {
    my $len = shift;
    my @chars = ('A' .. 'Z', 'a' .. 'z', '0' .. '9', '#', '@', '-', '_', '^');
    return join '', map { $chars[int rand @chars] } 1 .. $len;
}

sub gen_rand_port {
    my ($tries, $used) = @_;
    $tries //= 1000;
    $used //= {};
    for (1 .. $tries) {
        my $port = int(rand 63550) + 1985;
        next if $used->{$port};
        my $sock = IO::Socket::INET->new(
            LocalAddr => $ServerAddr, LocalPort => $port,
            Proto => 'tcp', Listen => 1, ReuseAddr => 1);
        if ($sock) {
            close $sock;
            return $port;
        }
    }
    return undef;
}

# Replace $TEST_NGINX_FOO with $ENV{TEST_NGINX_FOO}; a missing variable
# aborts the run (as in the real module).
sub expand_env_in_text ($$$) {
    my ($text, $name, $rand_ports) = @_;
    return undef unless defined $text;

    my %used = ($ServerPort => 1, map { $_ => 1 } values %$rand_ports);

    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        my $var = $1;
        my $val;
        if ($var =~ /^TEST_NGINX_RAND_PORT_[0-9]+$/) {
            $val = $rand_ports->{$var} //= do {
                my $p = gen_rand_port(1000, \%used);
                bail_out("$name - Cannot find an available listening port number for $var.\n")
                    unless defined $p;
                $used{$p} = 1;
                $p;
            };
        } else {
            bail_out("$name - No environment $var defined.\n")
                unless defined $ENV{$var};
            $val = $ENV{$var};
        }
        $val;
    }eg;

    return $text;
}

sub sh_quote {
    my ($s) = @_;
    return $s if $s =~ m{^[-\w./=:,+@%]+$};
    $s =~ s/'/'\\''/g;
    return "'$s'";
}

sub can_run {
    my ($cmd) = @_;
    if ($cmd =~ m{/}) {
        return -f $cmd && -x $cmd ? $cmd : undef;
    }
    for my $dir ((split /:/, $ENV{PATH} || ''), '.') {
        next if $dir eq '';
        my $abs = File::Spec->catfile($dir, $cmd);
        return $abs if -f $abs && -x $abs;
    }
    return undef;
}

sub get_canon_version (@) { sprintf '%d.%03d%03d', $_[0], $_[1], $_[2] }

sub get_nginx_version () {
    my $out = `$NginxBinary -V 2>&1`;
    if (!defined $out || $? != 0) {
        $out //= '';
        bail_out("Failed to get the version of the Nginx in PATH: $out");
    }
    if ($out =~ m{built with OpenSSL (\d+)\.(\d+)\.(\d+)([a-z])?}s) {
        $OpenSSLVersion = get_canon_version($1, $2, $3);
    }
    if ($out =~ m{(?:nginx|openresty)[^/]*/(\d+)\.(\d+)\.(\d+)}s
        || $out =~ m{\w+/(\d+)\.(\d+)\.(\d+)}s)
    {
        $NginxRawVersion = "$1.$2.$3";
        return get_canon_version($1, $2, $3);
    }
    bail_out("Failed to parse the output of \"nginx -V\": $out\n");
}

#-------------------------------------------------------------------------
# Processes.
#-------------------------------------------------------------------------

# kill(0) alone is not enough: the daemonised nginx is reparented to
# PID 1, which in containers often never reaps, so a dead nginx lingers
# as a zombie.  Treat zombies as gone, and reap our own children.
sub is_running ($) {
    my $pid = shift;
    return 0 unless $pid && $pid =~ /^\d+$/;
    my $r = waitpid($pid, WNOHANG);
    return 0 if $r == $pid;
    return 0 unless kill 0, $pid;
    if (open my $fh, '<', "/proc/$pid/stat") {
        my $stat = <$fh> // '';
        return 0 if $stat =~ /\)\s+[ZX]\s/;
    }
    return 1;
}

sub wait_for_exit {
    my ($pid, $secs) = @_;
    my $deadline = time + $secs;
    while (is_running($pid)) {
        return 0 if time >= $deadline;
        sleep 0.05;
    }
    return 1;
}

# QUIT (graceful), then TERM, then KILL; waits for the process to go away.
sub kill_process ($$$) {
    my ($pid, $wait, $name) = @_;
    return unless is_running($pid);

    warn "sending QUIT signal to $pid\n" if $Verbose;
    kill 'QUIT', $pid;
    return if wait_for_exit($pid, $wait);

    warn "$name - timeout when waiting for the process $pid to exit\n";
    kill 'TERM', $pid;
    return if wait_for_exit($pid, 2);

    warn "$name - WARNING: killing the child process $pid with force...\n";
    my $pgrp = getpgrp($pid);
    kill 'KILL', (defined $pgrp && $pgrp == $pid) ? -$pid : $pid;
    wait_for_exit($pid, 5);
}

sub get_pid_from_pidfile ($) {
    my ($name) = @_;
    open my $in, '<', $PidFile or return undef;
    my $pid = do { local $/; <$in> };
    close $in;
    return undef unless defined $pid;
    $pid =~ s/\s+//g;
    return $pid =~ /^\d+$/ ? $pid : undef;
}

sub wait_for_pid_file {
    my ($secs, $want_pid) = @_;
    my $deadline = time + $secs;
    while (time < $deadline) {
        my $pid = get_pid_from_pidfile('');
        return $pid if defined $pid && (!$want_pid || $pid == $want_pid);
        return undef if $want_pid && !is_running($want_pid);
        sleep 0.02;
    }
    return undef;
}

sub slurp {
    my ($file) = @_;
    open my $in, '<', $file or return '';
    local $/;
    my $s = <$in>;
    return defined $s ? $s : '';
}

sub nginx_cmd {
    my @cmd = ($NginxBinary, '-p', "$ServRoot/", '-c', $ConfFile);
    # nginx >= 1.19.5 can be told where start-up errors go.  Pointing -e
    # at our error.log makes start-up and must_die messages land in the
    # log even for builds configured with --error-log-path=stderr (e.g.
    # Debian's), i.e. like a default nginx build under real Test::Nginx.
    push @cmd, '-e', $ErrLogFile if uses_dash_e();
    return join(' ', map { sh_quote($_) } @cmd) . ' > /dev/null';
}

sub uses_dash_e { defined $NginxVersion && $NginxVersion >= 1.019005 }

sub valgrind_cmd {
    my ($cmd) = @_;
    if ($UseValgrind =~ /^\d+$/) {
        my $opts = '--tool=memcheck --leak-check=full --show-possibly-lost=no';
        my $supp = -f 'valgrind.suppress' ? ' --suppressions=valgrind.suppress' : '';
        return "valgrind --num-callers=100 -q $opts --gen-suppressions=all$supp $cmd";
    }
    return "valgrind -q $UseValgrind $cmd";
}

# Run a shell command with stdout discarded and stderr captured; wait at
# most $max_wait seconds.  Returns ($status, $stderr, $running_pid):
# $running_pid is set when the command is still running (it did not
# exit in time) and $status is 0 then.
sub run_cmd_captured {
    my ($cmd, $max_wait) = @_;
    warn "command: $cmd\n" if $Verbose;

    my $pid = fork;
    return (-1, "fork() failed: $!") unless defined $pid;
    if ($pid == 0) {
        $InSubprocess = 1;
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', $StderrFile;
        exec('/bin/sh', '-c', "exec $cmd") or POSIX::_exit(127);
    }

    my $deadline = time + $max_wait;
    while (1) {
        my $r = waitpid($pid, WNOHANG);
        if ($r == $pid) {
            return ($?, slurp($StderrFile));
        }
        if (time >= $deadline) {
            return (0, slurp($StderrFile), $pid);
        }
        sleep 0.01;
    }
}

# Valgrind mode: nginx runs in the foreground as our child, in its own
# process group, with its stderr (and so valgrind's reports) appended to
# a scratch file that valgrind_check() inspects.
sub start_child_nginx {
    my ($cmd, $name) = @_;
    Test::More::diag($name);    # real one warn()s the block name here
    warn "command: $cmd\n" if $Verbose;

    my $pid = fork;
    bail_out("$name - fork() failed: $!") unless defined $pid;
    if ($pid == 0) {
        $InSubprocess = 1;
        setpgrp(0, 0);
        open STDOUT, '>', '/dev/null';
        open STDERR, '>>', $ValgrindLog;
        exec('/bin/sh', '-c', "exec $cmd") or POSIX::_exit(127);
    }
    $ChildPid = $pid;

    # valgrind start-up is slow; the pid file appears once nginx listens.
    my $wait = max(60, 10 * $Timeout);
    if (!defined wait_for_pid_file($wait, $pid)) {
        my $alive = is_running($pid);
        stop_child_nginx($name) if $alive;
        undef $ChildPid;
        my $out = slurp($ValgrindLog);
        bail_out("$name - nginx under valgrind "
                 . ($alive ? "did not write its pid file within ${wait}s"
                           : 'exited during start-up')
                 . ":\n$out");
    }
}

# Stop the foreground nginx (valgrind mode) and report valgrind findings.
sub stop_child_nginx {
    my ($name) = @_;
    return unless defined $ChildPid;
    my $pid = $ChildPid;

    kill 'QUIT', $pid;
    # Leak checking at exit takes a while under valgrind.
    if (!wait_for_exit($pid, max(60, 10 * $Timeout))) {
        warn "$name - timeout when waiting for nginx ($pid) to exit; killing it\n";
        kill 'KILL', -$pid;
        waitpid($pid, 0);
    }
    undef $ChildPid;
    unlink $PidFile if -f $PidFile;
    valgrind_check($name);
}

# Print what valgrind wrote since the last call (as TAP diagnostics) and
# fail a test if it reported any error or definite leak.  The real
# Test::Nginx only shows valgrind output on stderr; failing here is what
# lets a valgrind run be used as a gate.  Nothing is emitted when
# valgrind is quiet, so test counts match the real module.
sub valgrind_check {
    my ($name) = @_;
    return unless -f $ValgrindLog;

    open my $in, '<', $ValgrindLog or return;
    seek $in, $ValgrindPos, 0;
    my @lines = <$in>;
    $ValgrindPos = tell $in;
    close $in;
    return unless @lines;

    my $errors = 0;
    for my $line (@lines) {
        chomp $line;
        Test::More::diag($line);
        # With -q valgrind prints only problems.  A report starts with a
        # "==PID== " line whose text begins with a non-blank character
        # ("Invalid read of size 4", "24 bytes in 1 blocks are definitely
        # lost ...", "Process terminating ...").  Warnings are not fatal.
        if ($line =~ /^==\d+== (\S.*)$/ && $1 !~ /^(?:Warning|WARNING)\b/) {
            $errors++;
        }
    }

    if ($errors) {
        Test::More::fail("$name - valgrind reported errors (see the ==PID== lines above)");
    }
}

sub cleanup () {
    $_->() for @CleanupHandlers;
    stop_child_nginx('cleanup') if defined $ChildPid;
}

#-------------------------------------------------------------------------
# Servroot and configuration.
#-------------------------------------------------------------------------

sub setup_server_root ($$) {
    my ($first_time, $use_hup) = @_;

    if (-d $ServRoot) {
        remove_tree($ConfDir, glob("$ServRoot/*_cache"), glob("$ServRoot/*_temp"));

        if ($use_hup) {
            # nginx keeps running: delete files but keep its pid file
            # (and sockets/certs) so that it can be signalled.
            File::Find::find({ bydepth => 1, no_chdir => 1, wanted => sub {
                return if -d $_;
                return if !$first_time && /(?:\bnginx\.pid|\.sock|\.crt|\.key)$/;
                unlink $_ or warn "Failed to remove $_\n";
            } }, $ServRoot);
        } else {
            remove_tree($HtmlDir, $LogDir);
        }
    }

    for my $dir ($ServRoot, $LogDir, $HtmlDir, $ConfDir) {
        next if -d $dir;
        make_path($dir) or bail_out("Failed to do mkdir $dir\n");
    }

    my $index = "$HtmlDir/index.html";
    open my $out, '>', $index or bail_out("Can't open $index for writing: $!\n");
    print $out '<html><head><title>It works!</title></head><body>It works!</body></html>';
    close $out;
}

sub write_user_files ($$) {
    my ($block, $rand_ports) = @_;
    my $name = $block->name;
    my $files = $block->user_files;
    return unless $files;

    if (!ref $files) {
        my @list;
        my ($fname, $body, $date);
        for my $line (split /^/m, $files) {
            if ($line =~ />>> (\S+)(?:\s+(.+))?/) {
                push @list, [$fname, $body, $date] if $fname;
                ($fname, $date, $body) = ($1, $2, undef);
            } else {
                $body .= $line;
            }
        }
        push @list, [$fname, $body, $date] if $fname;
        $files = \@list;
    } elsif (ref $files ne 'ARRAY') {
        bail_out("$name - wrong value type: ", ref $files,
                 ", only scalar or ARRAY are accepted");
    }

    for my $file (@$files) {
        my ($fname, $body, $date) = @$file;
        $body = '' unless defined $body;
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";

        if ($path =~ m{(.*)/}) {
            my $dir = $1;
            if (!-d $dir) {
                make_path($dir) or bail_out("$name - Cannot create directory ", $dir);
            }
        }

        $body = expand_env_in_text($body, $name, $rand_ports);

        open my $out, '>', $path or bail_out("$name - Cannot open $path for writing: $!\n");
        binmode $out;
        print $out $body;
        close $out;

        if ($date) {
            local $ENV{TZ} = 'GMT';
            system('touch', '-t', $date, $path) == 0
                or bail_out("Failed to run shell command: touch -t $date $path\n");
        }
    }
}

# Same template as the real write_config_file (modulo the listen
# address, see $ServerAddr above).
sub write_config_file ($$$$) {
    my ($block, $config, $rand_ports, $opts) = @_;
    my $name = $block->name;

    # "config reload is buggy when master is off" (sticky, as upstream).
    master_on() if $opts->{use_hup};

    my $http_config = expand_env_in_text($block->http_config, $name, $rand_ports);
    $config = '' unless defined $config;
    $http_config = '' unless defined $http_config;

    my $postpone = $PostponeOutput;
    undef $postpone if $http_config =~ /\bpostpone_output\b/;
    my $extra_http_config = '';
    if (defined $postpone) {
        bail_out("Bad TEST_NGINX_POSTPONE_OUTPUT value: $postpone\n")
            if $postpone !~ /^\d+$/;
        $extra_http_config = "\n    postpone_output $postpone;\n";
    }

    my $main_config = $block->main_config;
    $main_config = '' unless defined $main_config;
    if ($LoadModules) {
        # Appended after the block's main_config, exactly like upstream.
        my @modules = map { "load_module $_;" } grep { $_ } split /\s+/, $LoadModules;
        $main_config .= join ' ', @modules;
    }
    $main_config = expand_env_in_text($main_config, $name, $rand_ports);

    my $post_main_config = $block->post_main_config;
    $post_main_config = '' unless defined $post_main_config;
    $post_main_config = expand_env_in_text($post_main_config, $name, $rand_ports);

    my $err_log_file = $block->error_log_file || $ErrLogFile;
    my $server_name = $block->server_name;
    $server_name = $ServerName unless defined $server_name;

    my $listen_opts = $ReusePort ? ' reuseport' : '';
    my $listen = "$ServerAddr:$ServerPort";

    my $conf = <<_EOC_;
worker_processes  $Workers;
daemon $DaemonEnabled;
master_process $MasterProcessEnabled;
error_log $err_log_file $opts->{log_level};
pid       $PidFile;
env MOCKEAGAIN_VERBOSE;
env MOCKEAGAIN;
env MOCKEAGAIN_WRITE_TIMEOUT_PATTERN;
env LD_PRELOAD;
env LD_LIBRARY_PATH;
env DYLD_INSERT_LIBRARIES;
env DYLD_FORCE_FLAT_NAMESPACE;
_EOC_

    for my $v (@EnvToNginx) {
        my $e = $v =~ /\s/ ? "'$v'" : $v;
        $conf .= "env $e;\n";
    }

    $conf .= <<_EOC_;
#env LUA_PATH;
#env LUA_CPATH;

$main_config

http {
    access_log $AccLogFile;
    #access_log off;

    default_type text/plain;
    keepalive_timeout  68;

$http_config

    server {
        listen          $listen$listen_opts;
        server_name     '$server_name';

        client_max_body_size 30M;
        #client_body_buffer_size 4k;


        # Begin preamble config...
$ConfigPreamble
        # End preamble config...

        # Begin test case config...
$config
        # End test case config.

_EOC_

    if (!$NoRootLocation) {
        $conf .= <<_EOC_;
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_
    }

    $conf .= "    }\n";

    if ($opts->{use_hup}) {
        # Answers GET /ver so that we can tell when a reload finished.
        $conf .= <<_EOC_;
    server {
        listen          $listen$listen_opts;
        server_name     'Test-Nginx';

        location = /ver {
            return 200 '$ConfigVersion';
        }
    }

$extra_http_config
_EOC_
    }

    $conf .= <<_EOC_;
}

$post_main_config

#timer_resolution 100ms;

events {
    accept_mutex off;

    worker_connections  $WorkerConnections;
_EOC_

    $conf .= "    use $EventType;\n" if $EventType;
    $conf .= "}\n";
    $conf .= <<_EOC_;
env ASAN_OPTIONS;
env MOCKNOEAGAIN_VERBOSE;
env MOCKNOEAGAIN;
_EOC_

    if (defined $WorkerUser) {
        $conf .= "user $WorkerUser;\n";
    } elsif ($> == 0) {
        $conf .= "user root;\n";
    }

    open my $out, '>', $ConfFile or bail_out("Can't open $ConfFile for writing: $!\n");
    print $out $conf;
    close $out;
}

#-------------------------------------------------------------------------
# Logs.
#-------------------------------------------------------------------------

# New error.log lines since the last call (or all of them with
# check_accum_error_log), plus pending start-up stderr lines.
sub error_log_data () {
    # Give nginx time to write log-phase messages after closing the
    # connection.
    sleep $TestNginxSleep * 3;

    my @lines = @ExtraErrLogLines;
    @ExtraErrLogLines = ();

    open my $in, '<', $ErrLogFile or return @lines ? \@lines : undef;
    seek $in, $ErrLogFilePos, 0 if !$CheckAccumErrLog && $ErrLogFilePos > 0;
    push @lines, <$in>;
    $ErrLogFilePos = tell $in unless $CheckAccumErrLog;
    close $in;
    return \@lines;
}

sub access_log_data () {
    sleep $TestNginxSleep * 3;
    open my $in, '<', $AccLogFile or die "open $AccLogFile failed: $!";
    my @lines = <$in>;
    close $in;
    return \@lines;
}

#-------------------------------------------------------------------------
# HUP reload.
#-------------------------------------------------------------------------

# GET /ver (Host: Test-Nginx) until it returns the new config version 20
# times in a row, as the real module does with curl.
sub test_config_version ($) {
    my ($name) = @_;
    my $total = 200;
    my $nsucc = 0;

    for my $tries (1 .. $total) {
        my $ver = fetch_config_version();

        if (defined $ver && $ver eq $ConfigVersion) {
            $nsucc++;
            sleep $TestNginxSleep if $nsucc == 5;
            return if $nsucc >= 20;
            next;
        }
        $nsucc = 0;

        my $wait = ($TestNginxSleep + $TestNginxSleep * $tries) * $tries / 2;
        $wait = 1 if $wait > 1;
        warn "$name - waiting $wait sec for nginx to reload the configuration\n"
            if $wait > 0.5;
        sleep $wait;
    }

    Test::More->builder->no_ending(1);
    Test::More::fail("$name - failed to reload configuration after $total "
                     . 'failed test requests');
}

sub fetch_config_version {
    my $sock = Test::Nginx::Compat::HTTP::connect_once($ServerAddr, $ServerPort, 2)
        or return undef;
    my $r = Test::Nginx::Compat::HTTP::exchange(
        sock => $sock, timeout => 2,
        packets => [{ value => "GET /ver HTTP/1.1\r\nHost: Test-Nginx\r\n"
                             . "Connection: close\r\n\r\n" }]);
    my ($res) = Test::Nginx::Compat::HTTP::parse_response($r->{resp}, 0);
    return undef unless $res && defined $res->code && $res->code == 200;
    return $res->content;
}

#-------------------------------------------------------------------------
# The driver.
#-------------------------------------------------------------------------

sub run_tests () {
    $NginxVersion = get_nginx_version();

    $ENV{TEST_NGINX_SERVER_PORT} = $ServerPort
        unless defined $ENV{TEST_NGINX_SERVER_PORT};

    my @blocks = Test::Nginx::Compat::Block::blocks();
    # Upstream shuffles unless told not to; keep that so order
    # dependencies show up here too.
    @blocks = shuffle @blocks unless $NoShuffle;

    for my $block (@blocks) {
        $_->($block) for @BlockPreprocessors;
        $block->set_value('name', $0 . ' ' . $block->name);
        run_test($block);
    }

    cleanup();
}

# Sections whose behaviour this runner does not implement.  Bail out
# rather than silently passing a test that would fail upstream.
my @Unsupported = qw(
    http2 http3 http09 stap stap_out stap_out_like
    stap_out_unlike tcp_listen udp_listen tcp_reply udp_reply
    shutdown_error_log no_shutdown_error_log skip_nginx2 skip_openssl
    skip_slave reload_fails curl request_eval response_body_eval charset
);

sub run_test ($) {
    my ($block) = @_;
    return if defined $block->SKIP;

    my $name = $block->name;

    for my $section (@Unsupported) {
        bail_out("$name - the --- $section section is not supported by the "
                 . "compat Test::Nginx runner (t/compat)")
            if defined $block->$section;
    }

    my $first_time = $FirstTime;
    $FirstTime = 0;

    my $rand_ports = {};
    my $config = expand_env_in_text($block->config, $name, $rand_ports);
    my $must_die = $block->must_die;

    # must_die runs plain nginx: no HUP reload, no valgrind.
    my %opts = (
        log_level    => $block->log_level || $LogLevel,
        use_hup      => defined $must_die ? 0 : $UseHup,
        use_valgrind => defined $must_die ? undef : $UseValgrind,
        first_time   => $first_time,
    );
    my $dry_run = 0;

    my ($should_restart, $should_reconfig) = (1, 1);
    if (!defined $config) {
        # No config: keep using the nginx of the previous block.
        if (!$NoNginxManager && !defined $PrevConfig) {
            bail_out("$name - No '--- config' section specified and could not "
                     . "get previous one. Use TEST_NGINX_NO_NGINX_MANAGER ?");
        }
        ($should_restart, $should_reconfig) = (0, 0);
    } elsif ($NoNginxManager) {
        Test::More::diag("NO_NGINX_MANAGER activated: config for $name ignored");
        ($should_restart, $should_reconfig) = (0, 0);
    } else {
        $should_reconfig = !defined $PrevConfig || $config ne $PrevConfig;
        $should_restart = $should_reconfig || $ForceRestartOnTest;
    }

    my ($tests_to_skip, $should_skip, $skip_reason) = skip_spec($block, $name);
    my ($should_todo, $todo_reason, $todo_count) = todo_spec($block, $name);
    $tests_to_skip = $todo_count if $should_todo && defined $todo_count;

    if (!$NoNginxManager && !$should_skip && $should_restart) {
        $ConfigVersion = gen_rand_str(10) if $opts{use_hup};
        $PrevConfig = $config if $should_reconfig;

        if (defined $must_die) {
            run_must_die($block, $config, $rand_ports, \%opts, $must_die, $dry_run);
            return;
        }

        start_or_reload_nginx($block, $config, $rand_ports, \%opts);
    }

    if ($block->init) {
        eval $block->init;
        bail_out("$name - init failed: $@") if $@;
    }

    $ErrLogFilePos = 0;
    for my $i (1 .. $RepeatEach) {
        write_user_files($block, $rand_ports) if $i > 1;

        if ($should_skip && defined $tests_to_skip) {
            SKIP: {
                Test::More::skip("$name - $skip_reason", $tests_to_skip);
                $RunTestHelper->($block, $dry_run, $i - 1);
            }
        } elsif ($should_todo) {
            TODO: {
                Test::More::todo_skip("$name - $todo_reason", $tests_to_skip);
                $RunTestHelper->($block, $dry_run, $i - 1);
            }
        } else {
            $RunTestHelper->($block, $dry_run, $i - 1);
        }
    }

    if (my $total_errlog = $ENV{TEST_NGINX_ERROR_LOG}) {
        if (-s $ErrLogFile) {
            open my $out, '>>', $total_errlog
                or bail_out("Failed to append test case title to $total_errlog: $!\n");
            print $out "\n=== $0 $name\n", slurp($ErrLogFile);
            close $out;
        }
    }

    if ($opts{use_valgrind}) {
        if ($opts{use_hup}) {
            valgrind_check($name);      # nginx keeps running
        } else {
            stop_child_nginx($name);    # leak reports come at exit
        }
    }
}

sub start_or_reload_nginx {
    my ($block, $config, $rand_ports, $opts) = @_;
    my $name = $block->name;

    my $pid = get_pid_from_pidfile($name);
    if (defined $pid && is_running($pid)) {
        if ($opts->{use_hup} && !$opts->{first_time}) {
            return if reload_nginx($pid, $block, $config, $rand_ports, $opts);
        }
        stop_nginx($pid, $name);
    } elsif (-f $PidFile) {
        unlink $PidFile or warn "WARNING: failed to remove pid file $PidFile\n";
    }

    setup_server_root($opts->{first_time}, $opts->{use_hup});
    write_user_files($block, $rand_ports);
    write_config_file($block, $config, $rand_ports, $opts);

    can_run($NginxBinary)
        or bail_out("$name - Cannot find the nginx executable in the PATH environment");

    my $cmd = nginx_cmd();

    if ($opts->{use_valgrind}) {
        start_child_nginx(valgrind_cmd($cmd), $name);
    } else {
        start_daemon_nginx($cmd, $name);
    }

    sleep $TestNginxSleep;
}

sub start_daemon_nginx {
    my ($cmd, $name) = @_;

    my ($waited, $i) = (0, 0);
    while (1) {
        my ($status, $stderr, $running) = run_cmd_captured($cmd, 30);
        if ($running) {
            # daemon on: the starting process should have returned.
            kill_process($running, 1, $name);
            bail_out("$name - nginx did not return after 30s: \"$cmd\"\n$stderr");
        }
        print STDERR $stderr if length $stderr && $Verbose;

        if ($status == 0) {
            wait_for_pid_file(max(5, $Timeout))
                or warn "$name - WARNING: no pid file $PidFile after start\n";
            return;
        }

        # An old nginx may still hold the port; retry a while like
        # upstream does.  Other failures (bad config) abort right away.
        if ($stderr =~ /Address already in use/ && $waited < 30) {
            my $delay = min(1, 0.1 * ++$i);
            sleep $delay;
            $waited += $delay;
            next;
        }
        bail_out("$name - Cannot start nginx using command \"$cmd\" "
                 . "(status code $status).\n$stderr");
    }
}

sub stop_nginx {
    my ($pid, $name) = @_;
    if (defined $ChildPid && $pid == $ChildPid) {
        stop_child_nginx($name);
        return;
    }
    kill_process($pid, $Timeout, $name);
    unlink $PidFile if -f $PidFile && !is_running($pid);
}

# Returns true when the running nginx picked up the new configuration.
sub reload_nginx {
    my ($pid, $block, $config, $rand_ports, $opts) = @_;
    my $name = $block->name;

    setup_server_root(0, 1);
    write_user_files($block, $rand_ports);
    write_config_file($block, $config, $rand_ports, $opts);

    # USR1 first: the log files were just deleted, have them reopened.
    if (!kill 'USR1', $pid) {
        warn "$name - Failed to send USR1 signal\n";
        return 0;
    }
    sleep $TestNginxSleep;

    if (!kill 'HUP', $pid) {
        warn "$name - Failed to send HUP signal\n" if $Verbose;
        return 0;
    }
    sleep $TestNginxSleep * 3;

    test_config_version($name);
    return 1;
}

sub run_must_die {
    my ($block, $config, $rand_ports, $opts, $must_die, $dry_run) = @_;
    my $name = $block->name;

    my $pid = get_pid_from_pidfile($name);
    if (defined $pid && is_running($pid)) {
        stop_nginx($pid, $name);
    }

    setup_server_root($opts->{first_time}, 0);
    write_user_files($block, $rand_ports);
    write_config_file($block, $config, $rand_ports, $opts);

    can_run($NginxBinary)
        or bail_out("$name - Cannot find the nginx executable in the PATH environment");

    my $cmd = nginx_cmd();
    $ErrLogFilePos = 0;

    for my $i (0 .. $RepeatEach - 1) {
        # daemon off (valgrind mode) would keep a good nginx in the
        # foreground, so do not wait forever for it to die.
        my ($status, $stderr, $running) = run_cmd_captured($cmd, max(5, $Timeout));

        my $exit_code = $status >> 8;
        my $signal = $status & 127;

        if ($status == -1 || $exit_code == 127) {
            Test::More::fail("$name - failed to execute the nginx command line");
        } elsif ($signal) {
            Test::More::fail("$name - nginx core dumped (signal $signal)");
        } elsif (looks_like_number($must_die)) {
            Test::More::is($must_die, $exit_code, "$name - die with the expected exit code");
        } else {
            Test::More::isnt($status, 0, "$name - die as expected");
        }

        # Without -e (old nginx) start-up errors only go to stderr on
        # --error-log-path=stderr builds: check those lines too.
        @ExtraErrLogLines = split /^/m, $stderr unless uses_dash_e();
        $CheckErrorLog->($block, undef, $dry_run, $i, 0);

        if ($status == 0) {
            warn "WARNING: $name - nginx must die but it does not; killing it (req $i)\n";
            my $pid = $running || wait_for_pid_file(1);
            kill_process($pid, $Timeout, $name) if $pid;
            $pid = get_pid_from_pidfile($name);
            kill_process($pid, $Timeout, $name) if $pid && is_running($pid);
        }
    }
}

sub skip_spec {
    my ($block, $name) = @_;
    my ($count, $skip, $reason);

    if (defined(my $spec = $block->skip_eval)) {
        if ($spec =~ /^\s*(\d+)\s*:\s*(.*)/s) {
            ($count, $reason) = ($1, 'skip_eval');
            $skip = eval $2;
            bail_out("$name - skip_eval - failed to eval the Perl code \"$2\": $@") if $@;
        }
    }

    if (defined(my $spec = $block->skip_nginx)) {
        $spec =~ /^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)(?:\s*:\s*(.*))?\s*$/
            or bail_out("$name - Invalid --- skip_nginx spec: $spec");
        $count = $1;
        my ($op, $ver) = ($2, get_canon_version($3, $4, $5));
        $reason = $6 || "nginx version $op $3.$4.$5";
        $skip = 1 if (!defined $NginxVersion && $op =~ /^</)
                  || eval "$NginxVersion $op $ver";
    }

    $reason = 'various reasons' unless defined $reason;
    return ($count, $skip, $reason);
}

sub todo_spec {
    my ($block, $name) = @_;
    my $todo = $block->todo;
    return unless defined $todo;
    $todo =~ /^\s*(\d+)\s*:\s*(.*)/s
        or bail_out("$name - Invalid --- todo spec: $todo");
    return (1, $2 || 'various reasons', $1);
}

END {
    if (!$InSubprocess && $$ == $MainPid) {
        local $?;    # keep Test::Builder's exit status
        cleanup();
        if ($UseValgrind || !$ENV{TEST_NGINX_NO_CLEAN}) {
            my $pid = get_pid_from_pidfile('END');
            if (defined $pid && is_running($pid)) {
                kill_process($pid, $Timeout, 'END');
            } elsif (-f $PidFile) {
                unlink $PidFile;
            }
        }
    }
}

1;
