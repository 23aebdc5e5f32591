"""animerec recommendation API and web page: Starlette + uvicorn over the Redis layout of `animerec.common.recstore`."""
