package web

// detectRoutes serves event ingestion and alerts (JSON API and pages).
func (s *Server) detectRoutes() []Route {
	return nil
}
