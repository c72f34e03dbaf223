package dev.tandem.cuda;

import dev.tandem.cuda.discovery.CudaLibrary;
import dev.tandem.cuda.discovery.SearchResult;

/** A CUDA library that discovery did not find; the message says where it looked and what to install. */
public final class CudaLibraryNotFoundException extends CudaException {
    private static final long serialVersionUID = 1L;

    private final transient SearchResult result;

    /** For a search that found nothing. */
    public CudaLibraryNotFoundException(SearchResult result) {
        super(result.missingMessage());
        this.result = result;
    }

    /** The library that is missing. */
    public CudaLibrary library() {
        return result.library();
    }

    /** The search, with the folders it examined. */
    public SearchResult result() {
        return result;
    }
}
