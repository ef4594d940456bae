# ngx_http_infer_module: extra make rules, read by nginx's auto/make.
#
# The C code of ONNX's protobuf messages, generated in objs/ by protoc-c
# from the onnx.proto config found (never committed).

cat << END                                                >> $NGX_MAKEFILE

$NGX_OBJS/onnx.pb-c.c:	$INFER_ONNX_PROTO
	$INFER_PROTOC_C --c_out=$NGX_OBJS \\
		--proto_path=`dirname $INFER_ONNX_PROTO` $INFER_ONNX_PROTO

$NGX_OBJS/onnx.pb-c.h:	$NGX_OBJS/onnx.pb-c.c

END

#
# The scheduler-delay probe's BPF object and its libbpf skeleton, built in
# objs/ (never committed): clang compiles the CO-RE program for the bpf
# target, bpftool embeds it in infer_schedlat.skel.h, which infer_schedlat.c
# includes.  Only when config found libbpf, clang and bpftool.

if [ "$INFER_BPF" = yes ]; then

    case "`uname -m`" in
    x86_64|i?86)    infer_bpf_arch=x86 ;;
    aarch64|arm64)  infer_bpf_arch=arm64 ;;
    s390x)          infer_bpf_arch=s390 ;;
    ppc64*)         infer_bpf_arch=powerpc ;;
    riscv64)        infer_bpf_arch=riscv ;;
    *)              infer_bpf_arch=`uname -m` ;;
    esac

    cat << END                                            >> $NGX_MAKEFILE

$NGX_OBJS/infer_schedlat.bpf.o:	$ngx_addon_dir/src/infer_schedlat.bpf.c \\
	$ngx_addon_dir/src/infer_schedlat_abi.h \\
	$ngx_addon_dir/src/infer_schedlat_vmlinux.h
	$INFER_CLANG -g -O2 -target bpf -D__TARGET_ARCH_$infer_bpf_arch \\
		-I $ngx_addon_dir/src \\
		-c $ngx_addon_dir/src/infer_schedlat.bpf.c -o \$@

$NGX_OBJS/infer_schedlat.skel.h:	$NGX_OBJS/infer_schedlat.bpf.o
	$INFER_BPFTOOL gen skeleton $NGX_OBJS/infer_schedlat.bpf.o \\
		name infer_schedlat_bpf > \$@.tmp
	mv \$@.tmp \$@

END

fi
