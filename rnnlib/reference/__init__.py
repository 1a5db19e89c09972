"""NumPy reference implementations: the maths of the book, plainly, on the CPU."""
