"""Portal home, online application, progress look-up, complaints."""
