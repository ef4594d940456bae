package Test::Nginx::Compat::Block;

# A minimal re-implementation of the parts of Test::Base that
# Test::Nginx::Socket relies on: splitting the __DATA__ section into
# blocks and sections, the ONLY/SKIP/LAST meta sections, and section
# filters (norm, trim, chomp, eval, ...).
#
# The parsing regexes and the filter semantics follow Test::Base 0.89
# (Test/Base.pm and Test/Base/Filter.pm) so that the same .t file yields
# the same section values under both implementations.

use strict;
use warnings;

use Carp ();
use Test::More ();    # diag() for ONLY

our $AUTOLOAD;

# Section names that would clash with our own methods, like Test::Base's
# reserved names.
my %Reserved = map { $_ => 1 } qw(
    new set_value run_filters is_filtered seq_num blocks_object
    original_values DESTROY AUTOLOAD can isa
);

sub new {
    my ($class) = @_;
    return bless { _filtered => 0, _original => {} }, $class;
}

# Same storage layout as Test::Base::Block: every section is an array
# ref of values, so preprocessors peeking into $block->{foo} still work.
sub set_value {
    my ($self, $key, @values) = @_;
    $self->{$key} = [@values];
    return;
}

sub is_filtered { $_[0]{_filtered} }
sub seq_num     { $_[0]{_seq_num} }

sub original_values { $_[0]{_original} }

# Accessors: list of values in list context, the first one in scalar
# context, nothing at all for sections the block does not have.
sub AUTOLOAD {
    my $self = shift;
    (my $key = $AUTOLOAD) =~ s/.*:://;
    return if $key eq 'DESTROY' || !ref $self;
    Carp::croak("Not allowed to set values for '$key'") if @_;
    my @list = @{ $self->{$key} || [] };
    return wantarray ? @list : $list[0];
}

sub DESTROY { }

sub run_filters {
    my ($self, $global_filters, $filters_map) = @_;
    Carp::croak('Attempt to filter a block twice') if $self->{_filtered};

    for my $type (@{ $self->{_section_order} }) {
        my $spec = $self->{_section_filters}{$type};
        my @value = @{ $self->{$type} || [] };
        $self->{_original}{$type} = $value[0];

        for my $filter (_get_filters($spec, $global_filters,
                                     $filters_map->{$type}))
        {
            my $args;
            $args = $1 if $filter =~ s/=(.*)$//;
            @value = Test::Nginx::Compat::Filter::apply($self, $type, $filter,
                                                        $args, @value);
            # Later filters may look at the block, so store every step.
            $self->set_value($type, @value);
        }
    }

    $self->{_filtered} = 1;
    return;
}

# Default filters first, then per-section map filters, then the ones on
# the "--- name filters" line; "-foo" removes foo, "+foo" appends it.
sub _get_filters {
    my ($string, $global, $mapped) = @_;
    $string = '' unless defined $string;
    $string =~ s/\s*(.*?)\s*/$1/;
    $mapped = [] unless defined $mapped;
    $mapped = [$mapped] unless ref $mapped;

    my (@filters, @append);
    for my $filter (@$global, @$mapped, split /\s+/, $string) {
        last unless length $filter;
        if ($filter =~ s/^-//) {
            @filters = grep { $_ ne $filter } @filters;
        } elsif ($filter =~ s/^\+//) {
            push @append, $filter;
        } else {
            push @filters, $filter;
        }
    }
    return (@filters, @append);
}

#=========================================================================
# The block list of the running test file (Test::Base's default object).
#=========================================================================

my $BlockList;                      # parsed lazily from main::DATA
my @GlobalFilters = qw(norm trim);  # Test::Base's default filters
my %FiltersMap;
my $FiltersDelay = 0;

# filters('a', 'b') adds default filters; filters({ sec => [...] }) sets
# per-section filters, as in Test::Base.
sub filters {
    if (ref $_[0] eq 'HASH') {
        %FiltersMap = %{ $_[0] };
    } else {
        push @GlobalFilters, @_;
    }
    return;
}

sub filters_delay { $FiltersDelay = defined $_[0] ? $_[0] : 1; return }

sub block_list {
    $BlockList ||= [ parse_spec(_read_data()) ];
    return $BlockList;
}

sub _read_data {
    no strict 'refs';
    no warnings 'once';
    my $fh = \*{'main::DATA'};
    return '' unless defined *{$fh}{IO} && defined fileno($fh);
    local $/;
    my $spec = <$fh>;
    return defined $spec ? $spec : '';
}

# blocks() / blocks('section'): the count in scalar context, the
# (filtered) blocks in list context.
sub blocks {
    my ($section) = @_;
    my @blocks = @{ block_list() };
    @blocks = grep { exists $_->{$section} } @blocks if $section;
    return scalar(@blocks) unless wantarray;
    return @blocks if $FiltersDelay;
    for my $block (@blocks) {
        $block->run_filters(\@GlobalFilters, \%FiltersMap)
            unless $block->is_filtered;
    }
    return @blocks;
}

#=========================================================================
# Parsing the spec (normally main::DATA) into blocks.
#=========================================================================

# Returns the list of blocks (unfiltered), honouring ONLY, SKIP and LAST.
sub parse_spec {
    my ($spec) = @_;
    $spec = '' unless defined $spec;

    my @hunks = ($spec =~ /^(===.*?(?=^===|\z))/msg);
    my @blocks;
    for my $hunk (@hunks) {
        my $block = _make_block($hunk);
        if (exists $block->{ONLY}) {
            Test::More::diag("I found ONLY: maybe you're debugging?");
            @blocks = ($block);
            last;
        }
        next if exists $block->{SKIP};
        push @blocks, $block;
        last if exists $block->{LAST};
    }

    my $seq = 1;
    $_->{_seq_num} = $seq++ for @blocks;
    return @blocks;
}

sub _make_block {
    my ($hunk) = @_;
    my $block = __PACKAGE__->new;

    $hunk =~ s/\A===[ \t]*(.*)\s+// or die "bad block: $hunk";
    my $name = $1;

    # "--- name filters" or "--- name: inline value"
    my @parts = split /^--- +\(?(\w+)\)? *(.*)?\n/m, $hunk;
    my $description = shift @parts;
    $description = '' unless defined $description;
    $description = $name unless $description =~ /\S/;
    $description =~ s/\s*\z//;
    $block->set_value(description => $description);

    my (%filters, @order);
    while (@parts) {
        my ($type, $filter_spec, $value) = splice @parts, 0, 3;
        if ($Reserved{$type} || $type =~ /^_/) {
            Carp::croak("'$type' is a reserved name. Use something else.\n");
        }
        $value = '' unless defined $value;
        $filter_spec = '' unless defined $filter_spec;

        if ($filter_spec =~ /:(\s|\z)/) {
            Carp::croak("Extra lines not allowed in '$type' section")
                if $value =~ /\S/;
            ($filter_spec, $value) = split /\s*:(?:\s+|\z)/, $filter_spec, 2;
            $value = '' unless defined $value;
            $value =~ s/^\s*(.*?)\s*$/$1/;
        }

        $filters{$type} = $filter_spec;
        push @order, $type;
        $block->set_value($type, $value);
    }

    $block->set_value(name => $name);
    $block->{_section_filters} = \%filters;
    $block->{_section_order} = \@order;
    return $block;
}

#=========================================================================
# Filters (Test::Base::Filter subset).
#=========================================================================

package Test::Nginx::Compat::Filter;

use strict;
use warnings;

use MIME::Base64 ();

my %Filters = (
    norm => sub {
        my ($ctx, @v) = @_;
        my $text = $v[0];
        $text = '' unless defined $text;
        $text =~ s/\015\012/\n/g;
        $text =~ s/\r/\n/g;
        return $text;
    },
    # Drop leading blank lines and collapse trailing whitespace to the
    # final newline: this is why a multi-line section value ends in "\n".
    trim => sub {
        my ($ctx, @v) = @_;
        return map {
            my $s = $_;
            if (defined $s) {
                $s =~ s/\A([ \t]*\n)+//;
                $s =~ s/(?<=\n)\s*\z//g;
            }
            $s;
        } @v;
    },
    chomp   => sub { my ($ctx, @v) = @_; map { my $s = $_; chomp $s if defined $s; $s } @v },
    chop    => sub { my ($ctx, @v) = @_; map { my $s = $_; chop $s if defined $s; $s } @v },
    unchomp => sub { my ($ctx, @v) = @_; map { $_ . "\n" } @v },
    eval    => sub {
        my ($ctx, @v) = @_;
        my @ret = _eval_code(_scalar('eval', @v));
        return $@ if $@;
        return @ret;
    },
    escape => sub {
        my ($ctx, @v) = @_;
        my $text = _scalar('escape', @v);
        $text =~ s/(\\.)/eval "qq{$1}"/ge;
        return $text;
    },
    lines => sub {
        my ($ctx, @v) = @_;
        my $text = _scalar('lines', @v);
        return () unless length $text;
        return ($text =~ /^(.*\n?)/gm);
    },
    array => sub { my ($ctx, @v) = @_; return [@v] },
    hash  => sub { my ($ctx, @v) = @_; return {@v} },
    join  => sub {
        my ($ctx, @v) = @_;
        my $sep = defined $ctx->{args} ? _unescape_args($ctx->{args}) : '';
        return join $sep, @v;
    },
    split => sub {
        my ($ctx, @v) = @_;
        my $sep = defined $ctx->{args} ? _unescape_args($ctx->{args}) : undef;
        if (defined $sep && $sep =~ s{^/(.*)/$}{$1}) {
            $sep = qr{$sep};
        }
        $sep = qr/\s+/ unless $sep;
        return split $sep, _scalar('split', @v);
    },
    regexp => sub {
        my ($ctx, @v) = @_;
        my $text = _scalar('regexp', @v);
        my $flags = $ctx->{args};
        if ($text =~ /\n.*?\n/s) {
            $flags = 'xism' unless defined $flags;
        } else {
            chomp $text;
        }
        $flags ||= '';
        my $re = eval "qr{$text}$flags";
        die $@ if $@;
        return $re;
    },
    reverse => sub { my ($ctx, @v) = @_; return reverse @v },
    sort    => sub { my ($ctx, @v) = @_; return sort @v },
    head    => sub { my ($ctx, @v) = @_; my $n = $ctx->{args} || 1; return splice(@v, 0, $n) },
    tail    => sub { my ($ctx, @v) = @_; my $n = $ctx->{args} || 1; return splice(@v, @v - $n, $n) },
    base64_decode => sub { my ($ctx, @v) = @_; MIME::Base64::decode_base64(_scalar('base64_decode', @v)) },
    base64_encode => sub { my ($ctx, @v) = @_; MIME::Base64::encode_base64(_scalar('base64_encode', @v)) },
);

sub _scalar {
    my ($filter, @v) = @_;
    die "Input to the '$filter' filter must be a scalar, not a list\n"
        unless @v == 1;
    return $v[0];
}

sub _unescape_args {
    my ($args) = @_;
    $args =~ s/(\\s)/ /g;
    $args =~ s/(\\[a-z])/'"' . $1 . '"'/gee;
    return $args;
}

# Test::Base evaluates "eval" sections inside its filter package, under
# strict and warnings, so unqualified subs of the .t file are NOT
# visible there.  Evaluate in a package of our own to behave the same
# (use main::foo() or &::foo() in the section to reach the test file).
sub _eval_code {
    package Test::Nginx::Compat::Filter::Eval;
    use strict;
    use warnings;
    my $code = shift;
    return CORE::eval($code);
}

sub apply {
    my ($block, $type, $filter, $args, @value) = @_;

    # Like Test::Base: a function of that name in main:: wins.
    no strict 'refs';
    my $function = "main::$filter";
    if (defined &$function) {
        local $_ = (@value == 1 && !defined $value[0]) ? undef : join '', @value;
        my $old = $_;
        @value = &$function(@value);
        if (!@value
            || (@value == 1 && defined $value[0] && $value[0] =~ /\A(\d+|)\z/))
        {
            @value = ($_);
        }
        return @value;
    }
    use strict 'refs';

    my $code = $Filters{$filter}
        or die "Can't find a function or method for '$filter' filter\n";
    return $code->({ block => $block, type => $type, args => $args }, @value);
}

1;
