from audiocore._capi cimport ac_rt_filter


cdef class FilterBank:
    cdef ac_rt_filter *_f
    cdef readonly int in_rate
    cdef readonly int out_rate
