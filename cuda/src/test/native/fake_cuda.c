/*
 * A fake CUDA driver for testing Tandem's FFM bindings on machines without a GPU.
 *
 * It includes the real cuda.h, so every function below must match the header's prototype exactly (the compiler
 * rejects a mismatch) and is exported under the symbol the header maps it to (cuMemAlloc -> cuMemAlloc_v2, ...):
 * the names and C types Tandem binds are checked against the CUDA 13 header, and the behaviour (out-parameters,
 * sizes, kernel argument packing, graph capture) is checked by the Java test. "Device" memory is host memory.
 *
 * The only kernel is fake_saxpy(float a, const float* x, float* y, int n): y[i] += a * x[i], run on the host.
 * Test hooks: fake_set_device_count(int), fake_live_objects() (allocations, streams, events, modules, graphs and
 * context retains not yet released).
 */
#include <cuda.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int device_count = 1;
static int initialised = 0;
static long live = 0;
static int ctx_retains = 0;
static char ctx_storage;

#define MAX_RECORDED 16
typedef struct { float a; const float *x; float *y; int n; unsigned threads; } saxpy_args;
typedef struct { int capturing; int recorded; saxpy_args calls[MAX_RECORDED]; } fake_stream;
typedef struct { int count; saxpy_args calls[MAX_RECORDED]; } fake_graph;
typedef struct { int loaded; } fake_module;
static char saxpy_function;

__attribute__((visibility("default"))) void fake_set_device_count(int n) { device_count = n; }
__attribute__((visibility("default"))) long fake_live_objects(void) { return live + ctx_retains; }

CUresult CUDAAPI cuGetErrorName(CUresult error, const char **pStr) {
    switch (error) {
        case CUDA_SUCCESS: *pStr = "CUDA_SUCCESS"; return CUDA_SUCCESS;
        case CUDA_ERROR_INVALID_VALUE: *pStr = "CUDA_ERROR_INVALID_VALUE"; return CUDA_SUCCESS;
        case CUDA_ERROR_OUT_OF_MEMORY: *pStr = "CUDA_ERROR_OUT_OF_MEMORY"; return CUDA_SUCCESS;
        case CUDA_ERROR_NOT_INITIALIZED: *pStr = "CUDA_ERROR_NOT_INITIALIZED"; return CUDA_SUCCESS;
        case CUDA_ERROR_NO_DEVICE: *pStr = "CUDA_ERROR_NO_DEVICE"; return CUDA_SUCCESS;
        case CUDA_ERROR_NOT_FOUND: *pStr = "CUDA_ERROR_NOT_FOUND"; return CUDA_SUCCESS;
        case CUDA_ERROR_INVALID_IMAGE: *pStr = "CUDA_ERROR_INVALID_IMAGE"; return CUDA_SUCCESS;
        default: *pStr = NULL; return CUDA_ERROR_INVALID_VALUE;
    }
}

CUresult CUDAAPI cuGetErrorString(CUresult error, const char **pStr) {
    switch (error) {
        case CUDA_ERROR_OUT_OF_MEMORY: *pStr = "out of memory"; return CUDA_SUCCESS;
        case CUDA_ERROR_NO_DEVICE: *pStr = "no CUDA-capable device is detected"; return CUDA_SUCCESS;
        case CUDA_ERROR_NOT_FOUND: *pStr = "named symbol not found"; return CUDA_SUCCESS;
        default: *pStr = NULL; return CUDA_ERROR_INVALID_VALUE;
    }
}

CUresult CUDAAPI cuInit(unsigned int Flags) {
    if (Flags != 0) return CUDA_ERROR_INVALID_VALUE;
    if (device_count == 0) return CUDA_ERROR_NO_DEVICE;
    initialised = 1;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDriverGetVersion(int *driverVersion) { *driverVersion = 13000; return CUDA_SUCCESS; }

CUresult CUDAAPI cuDeviceGetCount(int *count) {
    if (!initialised) return CUDA_ERROR_NOT_INITIALIZED;
    *count = device_count;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGet(CUdevice *device, int ordinal) {
    if (ordinal < 0 || ordinal >= device_count) return CUDA_ERROR_INVALID_VALUE;
    *device = ordinal + 100; /* a handle that is not the ordinal, to catch mix-ups */
    return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGetName(char *name, int len, CUdevice dev) {
    if (dev < 100 || len < 16) return CUDA_ERROR_INVALID_VALUE;
    strncpy(name, "Fake GPU 9000", (size_t) len);
    return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib, CUdevice dev) {
    if (dev < 100) return CUDA_ERROR_INVALID_VALUE;
    switch (attrib) {
        case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *pi = 9; return CUDA_SUCCESS;
        case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *pi = 0; return CUDA_SUCCESS;
        case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *pi = 132; return CUDA_SUCCESS;
        default: return CUDA_ERROR_INVALID_VALUE;
    }
}

CUresult CUDAAPI cuDeviceTotalMem(size_t *bytes, CUdevice dev) {
    if (dev < 100) return CUDA_ERROR_INVALID_VALUE;
    *bytes = (size_t) 80 << 30;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev) {
    if (dev < 100) return CUDA_ERROR_INVALID_VALUE;
    ctx_retains++;
    *pctx = (CUcontext) &ctx_storage;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDevicePrimaryCtxRelease(CUdevice dev) {
    if (dev < 100 || ctx_retains == 0) return CUDA_ERROR_INVALID_VALUE;
    ctx_retains--;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxSetCurrent(CUcontext ctx) {
    return ctx == (CUcontext) &ctx_storage ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUresult CUDAAPI cuCtxSynchronize(void) { return CUDA_SUCCESS; }

CUresult CUDAAPI cuMemGetInfo(size_t *free, size_t *total) {
    *free = (size_t) 79 << 30;
    *total = (size_t) 80 << 30;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemAlloc(CUdeviceptr *dptr, size_t bytesize) {
    if (bytesize == 0) return CUDA_ERROR_INVALID_VALUE;
    if (bytesize > ((size_t) 1 << 40)) return CUDA_ERROR_OUT_OF_MEMORY;
    void *p = malloc(bytesize);
    if (!p) return CUDA_ERROR_OUT_OF_MEMORY;
    live++;
    *dptr = (CUdeviceptr) (uintptr_t) p;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemFree(CUdeviceptr dptr) {
    if (!dptr) return CUDA_ERROR_INVALID_VALUE;
    free((void *) (uintptr_t) dptr);
    live--;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemcpyHtoD(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount) {
    memcpy((void *) (uintptr_t) dstDevice, srcHost, ByteCount);
    return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemcpyDtoH(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount) {
    memcpy(dstHost, (const void *) (uintptr_t) srcDevice, ByteCount);
    return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemcpyDtoD(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount) {
    memmove((void *) (uintptr_t) dstDevice, (const void *) (uintptr_t) srcDevice, ByteCount);
    return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemcpyHtoDAsync(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount, CUstream hStream) {
    (void) hStream;
    return cuMemcpyHtoD(dstDevice, srcHost, ByteCount);
}

CUresult CUDAAPI cuMemcpyDtoHAsync(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream) {
    (void) hStream;
    return cuMemcpyDtoH(dstHost, srcDevice, ByteCount);
}

CUresult CUDAAPI cuMemcpyDtoDAsync(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream) {
    (void) hStream;
    return cuMemcpyDtoD(dstDevice, srcDevice, ByteCount);
}

CUresult CUDAAPI cuMemsetD32(CUdeviceptr dstDevice, unsigned int ui, size_t N) {
    unsigned int *p = (unsigned int *) (uintptr_t) dstDevice;
    for (size_t i = 0; i < N; i++) p[i] = ui;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemsetD32Async(CUdeviceptr dstDevice, unsigned int ui, size_t N, CUstream hStream) {
    (void) hStream;
    return cuMemsetD32(dstDevice, ui, N);
}

CUresult CUDAAPI cuMemHostAlloc(void **pp, size_t bytesize, unsigned int Flags) {
    if (Flags > 7) return CUDA_ERROR_INVALID_VALUE;
    *pp = calloc(1, bytesize);
    live++;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemFreeHost(void *p) {
    free(p);
    live--;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI cuStreamCreate(CUstream *phStream, unsigned int Flags) {
    if (Flags > 1) return CUDA_ERROR_INVALID_VALUE;
    *phStream = (CUstream) calloc(1, sizeof(fake_stream));
    live++;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI cuStreamSynchronize(CUstream hStream) { return hStream ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE; }

CUresult CUDAAPI cuStreamDestroy(CUstream hStream) {
    free(hStream);
    live--;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI cuEventCreate(CUevent *phEvent, unsigned int Flags) {
    if (Flags > 7) return CUDA_ERROR_INVALID_VALUE;
    *phEvent = (CUevent) malloc(8);
    live++;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI cuEventRecord(CUevent hEvent, CUstream hStream) {
    return hEvent && hStream ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUresult CUDAAPI cuEventSynchronize(CUevent hEvent) { return hEvent ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE; }

CUresult CUDAAPI cuEventElapsedTime(float *pMilliseconds, CUevent hStart, CUevent hEnd) {
    if (!hStart || !hEnd) return CUDA_ERROR_INVALID_VALUE;
    *pMilliseconds = 1.25f;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI cuEventDestroy(CUevent hEvent) {
    free(hEvent);
    live--;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI cuModuleLoadData(CUmodule *module, const void *image) {
    const char *text = (const char *) image;
    /* PTX text: must be NUL-terminated and mention the kernel. */
    if (strstr(text, ".entry fake_saxpy") == NULL) return CUDA_ERROR_INVALID_IMAGE;
    *module = (CUmodule) calloc(1, sizeof(fake_module));
    live++;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI cuModuleUnload(CUmodule hmod) {
    free(hmod);
    live--;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod, const char *name) {
    if (!hmod) return CUDA_ERROR_INVALID_VALUE;
    if (strcmp(name, "fake_saxpy") != 0) return CUDA_ERROR_NOT_FOUND;
    *hfunc = (CUfunction) &saxpy_function;
    return CUDA_SUCCESS;
}

static void run_saxpy(const saxpy_args *c) {
    for (int i = 0; i < c->n && (unsigned) i < c->threads; i++) c->y[i] += c->a * c->x[i];
}

CUresult CUDAAPI cuLaunchKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY, unsigned int gridDimZ,
                                unsigned int blockDimX, unsigned int blockDimY, unsigned int blockDimZ,
                                unsigned int sharedMemBytes, CUstream hStream, void **kernelParams, void **extra) {
    if (f != (CUfunction) &saxpy_function || !hStream || extra != NULL || sharedMemBytes != 0) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    saxpy_args c;
    c.a = *(float *) kernelParams[0];
    c.x = *(const float **) kernelParams[1];
    c.y = *(float **) kernelParams[2];
    c.n = *(int *) kernelParams[3];
    c.threads = gridDimX * gridDimY * gridDimZ * blockDimX * blockDimY * blockDimZ;
    fake_stream *s = (fake_stream *) hStream;
    if (s->capturing) {
        if (s->recorded == MAX_RECORDED) return CUDA_ERROR_OUT_OF_MEMORY;
        s->calls[s->recorded++] = c;
    } else {
        run_saxpy(&c);
    }
    return CUDA_SUCCESS;
}

CUresult CUDAAPI cuStreamBeginCapture(CUstream hStream, CUstreamCaptureMode mode) {
    fake_stream *s = (fake_stream *) hStream;
    if (!s || mode > CU_STREAM_CAPTURE_MODE_RELAXED || s->capturing) return CUDA_ERROR_INVALID_VALUE;
    s->capturing = 1;
    s->recorded = 0;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI cuStreamEndCapture(CUstream hStream, CUgraph *phGraph) {
    fake_stream *s = (fake_stream *) hStream;
    if (!s || !s->capturing) return CUDA_ERROR_INVALID_VALUE;
    fake_graph *g = (fake_graph *) calloc(1, sizeof(fake_graph));
    g->count = s->recorded;
    memcpy(g->calls, s->calls, sizeof(g->calls));
    s->capturing = 0;
    live++;
    *phGraph = (CUgraph) g;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI cuGraphInstantiate(CUgraphExec *phGraphExec, CUgraph hGraph, unsigned long long flags) {
    if (!hGraph || flags != 0) return CUDA_ERROR_INVALID_VALUE;
    fake_graph *e = (fake_graph *) malloc(sizeof(fake_graph));
    memcpy(e, hGraph, sizeof(fake_graph));
    live++;
    *phGraphExec = (CUgraphExec) e;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI cuGraphLaunch(CUgraphExec hGraphExec, CUstream hStream) {
    if (!hGraphExec || !hStream) return CUDA_ERROR_INVALID_VALUE;
    fake_graph *e = (fake_graph *) hGraphExec;
    for (int i = 0; i < e->count; i++) run_saxpy(&e->calls[i]);
    return CUDA_SUCCESS;
}

CUresult CUDAAPI cuGraphExecDestroy(CUgraphExec hGraphExec) {
    free(hGraphExec);
    live--;
    return CUDA_SUCCESS;
}

CUresult CUDAAPI cuGraphDestroy(CUgraph hGraph) {
    free(hGraph);
    live--;
    return CUDA_SUCCESS;
}
