#!/usr/bin/perl
#
# Proves that the compat runner can fail: every *.pl spec next to this
# script holds deliberately wrong expectations.  Each spec is run with
# the compat library and must fail, with a "not ok" line for
# each of its "# EXPECT-FAIL: <substring of the test name>" headers.
# "# ENV: NAME=value" headers set environment variables for that spec.
#
#   prove -v t/compat/negative/run-all.pl      (from the repository root)
#   perl t/compat/negative/run-all.pl t/compat/negative/timeout.pl
#
# The specs are *.pl, not *.t, so "prove -r t/" never picks them up.

use strict;
use warnings;

use File::Basename qw(dirname basename);
use File::Spec ();
use Test::More;

my $dir = dirname(__FILE__);
my $lib = File::Spec->catdir($dir, '..', 'lib');

my @specs = @ARGV ? @ARGV
          : grep { basename($_) ne basename(__FILE__) } sort glob("$dir/*.pl");

for my $spec (@specs) {
    my ($expect, $env) = read_headers($spec);

    SKIP: {
        if (exists $env->{TEST_NGINX_USE_VALGRIND} && !in_path('valgrind')) {
            skip "$spec needs valgrind", 1 + @$expect;
        }

        local %ENV = (%ENV, %$env);
        my $out = `"$^X" -I"$lib" "$spec" 2>&1`;
        my $status = $?;

        # prove fails a file on a non-zero exit or on any "not ok" line
        # (some failures call no_ending(), which keeps the exit code 0).
        ok($status != 0 || $out =~ /^not ok /m, "$spec fails as a whole")
            or diag($out);
        unlike($out, qr/^Bail out!/m, "$spec did not bail out")
            or diag($out);
        for my $name (@$expect) {
            like($out, qr/^not ok \d+ - .*\Q$name\E/m, "$spec fails: $name")
                or diag($out);
        }
    }
}

done_testing();

sub read_headers {
    my ($file) = @_;
    open my $in, '<', $file or die "cannot open $file: $!";
    my (@expect, %env);
    while (my $line = <$in>) {
        last unless $line =~ /^#/;
        push @expect, $1 if $line =~ /^# EXPECT-FAIL: (.+?)\s*$/;
        $env{$1} = $2 if $line =~ /^# ENV: (\w+)=(.*?)\s*$/;
    }
    close $in;
    die "$file has no EXPECT-FAIL header\n" unless @expect;
    return (\@expect, \%env);
}

sub in_path {
    my ($prog) = @_;
    return grep { -x "$_/$prog" } split /:/, $ENV{PATH} || '';
}
